// Plugin-library entry points: the one place where the Swish plugin creators are handed to TensorRT.
//
// Every way users load the library registers every creator exactly once, in any combination and
// order within one process:
//   - a plain dlopen (trtexec --plugins in 8.6, --staticPlugins in 10.x, Polygraphy --plugins,
//     ctypes.CDLL): registerAtLoad below runs while the library is loaded (what
//     REGISTER_TENSORRT_PLUGIN does) and registers with the libnvinfer the process already loaded;
//   - IPluginRegistry::loadLibrary (Python registry.load_library, trtexec --dynamicPlugins): it
//     dlopens the library (so registerAtLoad has run) and then registers what getPluginCreators /
//     getCreators return;
//   - initSwishPlugins below, for hosts that dlopen the library themselves (the role of
//     initLibNvInferPlugins).
//
// Why not REGISTER_TENSORRT_PLUGIN on top of the entry points: TensorRT's registry does not
// deduplicate. registerCreator returns false and logs an error for a name/version/namespace it
// already holds, and loadLibrary "will fail and return nullptr if any of the plugins are already
// registered" (NvInferRuntimeCommon.h, 8.6 and 10+; seen as "Cannot register the library as plugin
// creator of X exists already"). So the registry itself is asked, before every registration, whether
// it already holds this very creator object (registeredNow: a scan of the registry's creator list,
// by address, so a lookup of an absent name never makes TensorRT log "could not find plugin"):
//   - registerAtLoad and initSwishPlugins register only what the registry does not hold yet
//     (initSwishPlugins with another namespace moves the creators to it: deregister, re-register);
//   - getPluginCreators / getCreators, which TensorRT's loadLibrary calls right before it registers
//     the creators they return, first deregister those the registry already holds from the load-time
//     registration. loadLibrary's registration then is the only one, owned by its library handle as
//     TensorRT expects (deregisterLibrary removes them). Only a loader may call these two: they are
//     the library's hand-over to a caller that is about to register what they return.
// The decisions (register, move, keep where it was when a move is refused, hand over to a loader,
// deregister at unload) are common/creatorRegistration.cpp's, TensorRT-free and driven by the host
// harness in CI; NvinferCreatorRegistry below adapts IPluginRegistry to it. plugin/README.md,
// "Registration policy", states the rules.
// The creators are function-local statics (constructed on first use, whatever the static
// initialisation order: their constructors read only constexpr tables), and the registry is found
// at run time with dlsym, so this library has no link-time dependency on libnvinfer. The other
// state: registrationMutex (one check-then-register at a time, as several threads may call
// initSwishPlugins; the registry has its own lock but cannot make our check-then-act atomic), under
// it registeredByLibrary (which creators the library's own registration holds), and the
// UnloadDeregistrar that deregisters those when the library is unmapped. The creators' namespaces are
// interned (common/creatorNamespace.h): getPluginNamespace() may be read from any thread without the
// mutex, and its pointer stays valid.
//   getPluginCreators  - TensorRT 8.6 style: IPluginCreator (V2) creators only.
//   getCreators        - TensorRT >= 10: every creator (V2 + V3) as IPluginCreatorInterface.
//   setLoggerFinder    - gives the library a way to reach TensorRT's ILogger.
//   initSwishPlugins   - registers the creators with the loaded libnvinfer's registry.
// Diagnostics: with TPB_PLUGIN_DEBUG=1 in the environment every entry point (and the load itself)
// prints to stderr what it found: this library's path, where getPluginRegistry came from (which
// object, found how), libnvinfer's version, and each creator held already / registered / refused.
// A silent "no creator" on a GPU machine then explains itself in the next run.
// TensorRT 8.6.0 -> 8.6.1 moved IPluginRegistry's last virtuals (isParentSearchEnabled ..
// deregisterLibrary now follow deregisterCreator): code built against one calls another method of
// the other through deregisterCreator (trt-kit's 8.6.1 Python bindings over its 8.6.0 library turn
// registry.load_library into getErrorRecorder: None, no file opened). So deregisterCreator is called
// only when libnvinfer's getInferLibVersion() has the same 8.6 layout as the headers (abiMatches).
// The naive design (registeredNow always answering "no": initSwishPlugins and loadLibrary then register the
// load-time creators a second time) is what swish_creator_check's registration checks must catch.
// The entry points' body is api/pluginLibraryEntryPoints.inc, api/pluginLibraryRegistryLookup.inc
// (registeredNow) and api/pluginLibraryLoadRegistration.inc (registerAtLoad), shared with libtpb_ops_plugin.so.
#include "NvInferRuntime.h"

#include "creatorRegistration.h"
#include "pluginLog.h"
#include "swishPlugin.h"
#include "swishPluginLegacy.h"

// The creator list of libswish_plugin.so, its init function and debug tag (one list, shared with the fixtures).
#include "swishPluginCreators.inc"

// The entry points themselves, the registry lookup and the registration at load (shared with libtpb_ops_plugin.so).
#include "pluginLibraryEntryPoints.inc"
#include "pluginLibraryRegistryLookup.inc"
#include "pluginLibraryLoadRegistration.inc"
