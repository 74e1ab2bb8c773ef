// libtpb_ops_plugin.so's entry points: the one place where the operators' plugin creators (GELU; the
// LayerNorm and residual-add + RMSNorm creators join the list below) are handed to TensorRT.
//
// The registration design is api/swishPluginLibrary.cpp's (read its header comment: why no
// REGISTER_TENSORRT_PLUGIN, how a plain dlopen, IPluginRegistry::loadLibrary and the init function each
// register every creator exactly once, the 8.6.0 / 8.6.1 registry vtable difference, TPB_PLUGIN_DEBUG),
// with the decisions in common/creatorRegistration.cpp (TensorRT-free, driven by the host harness in CI).
// What differs: the creators are ONE list (THE CREATOR LIST below, an X-macro walked by every entry
// point), so adding an operator is adding its lines there and its headers above.
//   getPluginCreators  - TensorRT 8.6 style: the IPluginCreator (V2) creators of the list.
//   getCreators        - TensorRT >= 10: every creator (V2 + V3) as IPluginCreatorInterface.
//   setLoggerFinder    - gives the library a way to reach TensorRT's ILogger.
//   initTpbOpsPlugins  - registers the creators with the loaded libnvinfer's registry (the role of
//                        initLibNvInferPlugins, for hosts that dlopen the library themselves).
#include "NvInferRuntime.h"

#include "creatorRegistration.h"
#include "pluginLog.h"
// ---- the operators' creator headers ---------------------------------------------------------------
// GELU (plugin/geluPlugin)
#include "geluPlugin.h"
#include "geluPluginLegacy.h"
// LayerNorm (plugin/layerNormPlugin)
#include "layerNormPlugin.h"
#include "layerNormPluginLegacy.h"
// residual-add + RMSNorm (plugin/residualRmsNormPlugin)
#include "residualRmsNormPlugin.h"
#include "residualRmsNormPluginLegacy.h"
// ------------------------------------------------------------------------------------------------------

// ======================================================================================================
// THE CREATOR LIST: every creator of libtpb_ops_plugin.so, in one place. X(CreatorClass, "label") per
// creator; the label names it in diagnostics. A creator class must be default-constructible, derive from
// nvinfer1::IPluginCreator (TPB_LIBRARY_LEGACY_CREATORS, IPluginV2DynamicExt plugins, what TensorRT 8.6 loads)
// or nvinfer1::IPluginCreatorV3One (TPB_LIBRARY_V3_CREATORS, TensorRT >= 10 only), and expose
// `tpb::CreatorNamespace& namespaceSlot() noexcept` (its getPluginNamespace storage; see
// plugin/geluPlugin/geluPluginLegacy.h). Nothing else (here or in pluginLibraryEntryPoints.inc) names an operator: registration at
// load, initTpbOpsPlugins, getPluginCreators / getCreators and the unload all walk these lists.
// ======================================================================================================
#define TPB_LIBRARY_LEGACY_CREATORS(X)                                                                             \
    X(tpb::GeluPluginLegacyCreator, "Gelu v1 (IPluginCreator)")                                                \
    X(tpb::LayerNormPluginLegacyCreator, "TpbLayerNorm v1 (IPluginCreator)")                                   \
    X(tpb::ResidualRmsNormPluginLegacyCreator, "TpbResidualRmsNorm v1 (IPluginCreator)")

#if NV_TENSORRT_MAJOR >= 10
#define TPB_LIBRARY_V3_CREATORS(X)                                                                                 \
    X(tpb::GeluPluginCreator, "Gelu v2 (IPluginCreatorV3One)")                                                 \
    X(tpb::LayerNormPluginCreator, "TpbLayerNorm v2 (IPluginCreatorV3One)")                                    \
    X(tpb::ResidualRmsNormPluginCreator, "TpbResidualRmsNorm v2 (IPluginCreatorV3One)")
#else
#define TPB_LIBRARY_V3_CREATORS(X)
#endif


#define TPB_LIBRARY_INIT_FUNCTION initTpbOpsPlugins
#define TPB_LIBRARY_DEBUG_TAG "tpb-ops-plugin"

// The entry points themselves, the registry lookup and the registration at load (shared with libswish_plugin.so):
// walk the lists above.
#include "pluginLibraryEntryPoints.inc"
#include "pluginLibraryRegistryLookup.inc"
#include "pluginLibraryLoadRegistration.inc"
