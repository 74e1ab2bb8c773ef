// Host-only check of the row-norm plugins' creators (no GPU, no libnvinfer: the TensorRT interfaces are
// abstract classes implemented by the plugin; only TensorRT's headers are needed). For LayerNorm and the
// residual-add + RMSNorm IPluginV2DynamicExt creators: valid fields build a plugin whose record
// deserializes to the same bytes; every single-bit change of a record is refused (CRC-32); eps 0, -1,
// NaN, inf, a kernel id past the table, a misspelled or repeated field and a malformed kernel_table are
// refused; supportsFormatCombination takes linear fp16 everywhere and refuses mixed types.
// Exit code 0 only if every check passes.
//
// Usage: row_norm_creator_check
#include "layerNormPluginLegacy.h"
#include "residualRmsNormPluginLegacy.h"
#include <cstdio>
#include <cmath>
#include <vector>
using namespace nvinfer1;
// The log prefixes (common/pluginWhere.h) the plugins' messages have always started with.
constexpr tpb::PluginWheres kLayerNormWhere = tpb::pluginWheresOf<tpb::LayerNormOp>();
constexpr tpb::PluginWheres kRmsWhere = tpb::pluginWheresOf<tpb::ResidualRmsNormOp>();
static_assert(tpb::whereTextIs(kLayerNormWhere.configure, "TpbLayerNorm v2 configurePlugin")
        && tpb::whereTextIs(kLayerNormWhere.legacyConfigure, "TpbLayerNorm v1 configurePlugin")
        && tpb::whereTextIs(kLayerNormWhere.legacyDeserialize, "TpbLayerNorm v1 deserializePlugin")
        && tpb::whereTextIs(kRmsWhere.createRuntime, "TpbResidualRmsNorm v2 createPlugin (runtime)")
        && tpb::whereTextIs(kRmsWhere.legacyCreate, "TpbResidualRmsNorm v1 createPlugin"),
    "the row norms' log prefixes");
#define CHECK(c) do { if (!(c)) { std::printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #c); ++fails; } } while (0)
template <typename Creator>
void run(char const* name, int32_t kernelCount, int& fails) {
    Creator creator;
    float eps = 1e-5F; int32_t kernel = 2;
    PluginField ok[2] = {PluginField("eps", &eps, PluginFieldType::kFLOAT32, 1), PluginField("kernel", &kernel, PluginFieldType::kINT32, 1)};
    PluginFieldCollection fc{2, ok};
    auto* p = static_cast<IPluginV2DynamicExt*>(creator.createPlugin(name, &fc));
    CHECK(p != nullptr);
    std::vector<char> buf(p->getSerializationSize());
    p->serialize(buf.data());
    auto* q = static_cast<IPluginV2DynamicExt*>(creator.deserializePlugin(name, buf.data(), buf.size()));
    CHECK(q != nullptr);
    std::vector<char> buf2(q->getSerializationSize()); q->serialize(buf2.data());
    CHECK(buf == buf2);
    for (size_t i = 0; i < buf.size(); ++i) { auto c = buf; c[i] ^= 0x10; CHECK(creator.deserializePlugin(name, c.data(), c.size()) == nullptr); }
    float bads[] = {0.0F, -1.0F, NAN, INFINITY};
    for (float b : bads) { PluginField f("eps", &b, PluginFieldType::kFLOAT32, 1); PluginFieldCollection c{1, &f}; CHECK(creator.createPlugin(name, &c) == nullptr); }
    int32_t badk = kernelCount; PluginField fk("kernel", &badk, PluginFieldType::kINT32, 1); PluginFieldCollection ck{1, &fk}; CHECK(creator.createPlugin(name, &ck) == nullptr);
    PluginField typo("Eps", &eps, PluginFieldType::kFLOAT32, 1); PluginFieldCollection ct{1, &typo}; CHECK(creator.createPlugin(name, &ct) == nullptr);
    PluginField two[2] = {PluginField("eps", &eps, PluginFieldType::kFLOAT32, 1), PluginField("eps", &eps, PluginFieldType::kFLOAT32, 1)}; PluginFieldCollection c2{2, two}; CHECK(creator.createPlugin(name, &c2) == nullptr);
    int32_t table[4] = {64, 0, -1, 1}; PluginField tf("kernel_table", table, PluginFieldType::kINT32, 4); PluginFieldCollection tc{1, &tf}; CHECK(creator.createPlugin(name, &tc) != nullptr);
    int32_t badt[4] = {64, 0, 32, 1}; PluginField bt("kernel_table", badt, PluginFieldType::kINT32, 4); PluginFieldCollection btc{1, &bt}; CHECK(creator.createPlugin(name, &btc) == nullptr);
    // supportsFormatCombination: all fp16 linear ok, mixed refused
    PluginTensorDesc d[5]{};
    int n = p->getNbOutputs() + 3;
    for (int i = 0; i < n; ++i) { d[i].format = TensorFormat::kLINEAR; d[i].type = DataType::kHALF; }
    for (int i = 0; i < n; ++i) CHECK(p->supportsFormatCombination(i, d, 3, p->getNbOutputs()));
    d[1].type = DataType::kFLOAT; CHECK(!p->supportsFormatCombination(1, d, 3, p->getNbOutputs()));
    d[0].type = DataType::kINT32; CHECK(!p->supportsFormatCombination(0, d, 3, p->getNbOutputs()));
    p->destroy(); q->destroy();
    std::printf("%s done, outputs %d\n", name, n - 3);
}
int main()
{
    int fails = 0;
    run<tpb::LayerNormPluginLegacyCreator>("ln", tpb::kLayerNormKernelCount, fails);
    run<tpb::ResidualRmsNormPluginLegacyCreator>("rms", tpb::kResidualRmsNormKernelCount, fails);
    std::printf("row_norm_creator_check: %d failed\n", fails);
    return fails != 0 ? 1 : 0;
}
