// Host harness of the plugin libraries' TensorRT-free units: no TensorRT, no CUDA, no GPU. CI builds it
// with g++ under -fsanitize=address,undefined (mode "all") and -fsanitize=thread (mode "threads") and
// fails on any sanitizer report (tests/test_host_harness.py). What it drives (issue 26):
//   records      plugin/common/pluginRecord + plugin/swishPlugin/swishRecord (the Swish V2 record),
//                plugin/geluPlugin/geluRecord (GELU's) and
//                examples/byo-plugin/hardSwishCore (the example's record): every single-byte change of
//                several records (each byte set to each of its 255 other values, every bit flip among
//                them) is refused; records of the old formats are refused with a message that says so.
//   counts       plugin/common/elementCount.h and the example's hardSwishElementCount, with int32 and
//                int64 dims: products over INT64_MAX (and those that wrap to 0) refused, rank 9 refused
//                without reading d[8] (the dims sit at the end of a heap block: ASan sees a read past it),
//                negative dims refused, zero-size really 0.
//   fields       the example's parseHardSwishFields: null data with nbFields 2, nbFields -1, duplicates,
//                wrong types and lengths refused; a valid field read.
//   registration plugin/common/creatorNamespace + creatorRegistration against a fake registry that, like
//                TensorRT's, refuses a second creator of one name, version and namespace: a refused move
//                leaves the creator where it was, the loader hand-over and unload deregister.
//   runner       plugin/runner/runnerArgs: out-of-range and wrapping numbers refused, naming the argument.
//   threads      (mode "threads", under TSan) several threads register, move and read namespaces at once.
// One line per check ("PASS ..." / "FAIL ...: detail"), then "host_harness: N passed, M failed"; exit 0
// only when all pass.
#include "creatorNamespace.h"
#include "creatorRegistration.h"
#include "elementCount.h"
#include "errorText.h"
#include "geluRecord.h"
#include "hardSwishCore.h"
#include "pluginRecord.h"
#include "runnerArgs.h"
#include "swishRecord.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace
{

class Report
{
public:
    void check(bool ok, std::string const& what, std::string const& detail = "")
    {
        std::lock_guard<std::mutex> const lock(mMutex);
        (ok ? mPassed : mFailed) += 1;
        std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", what.c_str(), ok || detail.empty() ? "" : ": ",
            ok ? "" : detail.c_str());
    }
    int finish() const
    {
        std::printf("host_harness: %d passed, %d failed\n", mPassed, mFailed);
        return mFailed == 0 ? 0 : 1;
    }

private:
    std::mutex mMutex;
    int mPassed{0};
    int mFailed{0};
};

bool has(char const* text, char const* needle)
{
    return std::strstr(text, needle) != nullptr;
}

// -- records ------------------------------------------------------------------------------------
//! Every single-byte change of \p good given to \p accepts: how many were accepted (the first in \p first).
template <typename Accepts>
int countAcceptedChanges(std::vector<unsigned char> const& good, Accepts accepts, std::string& first)
{
    int accepted = 0;
    for (size_t at = 0; at < good.size(); ++at)
    {
        for (int value = 0; value < 256; ++value)
        {
            if (value == good[at])
            {
                continue;
            }
            // a heap copy of exactly the record's size: a read past it is an ASan report
            std::unique_ptr<unsigned char[]> bad(new unsigned char[good.size()]);
            std::memcpy(bad.get(), good.data(), good.size());
            bad[at] = static_cast<unsigned char>(value);
            if (accepts(bad.get(), good.size()) && accepted++ == 0)
            {
                first = "byte " + std::to_string(at) + " set to " + std::to_string(value);
            }
        }
    }
    return accepted;
}

bool sameParams(tpb::SwishParams const& a, tpb::SwishParams const& b)
{
    return std::memcmp(&a, &b, sizeof(a)) == 0;
}

std::vector<unsigned char> oldSwishRecord(uint32_t version, float beta, int32_t kernel, int32_t bands)
{
    std::vector<unsigned char> bytes;
    auto append = [&bytes](auto value)
    {
        unsigned char raw[sizeof(value)];
        std::memcpy(raw, &value, sizeof(value));
        bytes.insert(bytes.end(), raw, raw + sizeof(value));
    };
    append(tpb::kSwishRecordMagic);
    append(version);
    append(beta);
    append(kernel);
    if (version == 2)
    {
        append(bands);
        for (int32_t i = 0; i < 2 * bands; ++i)
        {
            append(int32_t{i + 1});
        }
    }
    return bytes;
}

void checkRecords(Report& report)
{
    tpb::SwishParams noTable;
    noTable.beta = 1.5F;
    noTable.kernel = 6;
    tpb::SwishParams threeBands = noTable;
    threeBands.bandCount = 3;
    int32_t const table3[] = {64, 4, 4096, 6, -1, 3};
    std::memcpy(threeBands.table, table3, sizeof(table3));
    tpb::SwishParams eightBands = noTable;
    eightBands.beta = -0.25F;
    eightBands.bandCount = tpb::kSwishMaxBands;
    for (int32_t i = 0; i < 2 * tpb::kSwishMaxBands; ++i)
    {
        eightBands.table[i] = i % 2 == 0 ? (i + 2) * 100 : 1;
    }
    eightBands.table[2 * tpb::kSwishMaxBands - 2] = -1;
    tpb::SwishParams anyLayout = threeBands;
    anyLayout.formats = tpb::kSwishFormatsAnyLayout;
    for (tpb::SwishParams const& params : {noTable, threeBands, eightBands, anyLayout})
    {
        std::string const label = "Swish record with " + std::to_string(params.bandCount) + " bands, formats "
            + std::to_string(params.formats);
        std::vector<unsigned char> good(tpb::swishRecordSize(params));
        bool const written = tpb::writeSwishRecord(params, good.data(), good.size());
        tpb::SwishParams back;
        tpb::ErrorText error;
        bool const read = tpb::readSwishRecordPayload(good.data(), good.size(), back, error);
        report.check(written && read && sameParams(back, params) && good.size() == 32 + 8 * size_t(params.bandCount),
            label + ": written (" + std::to_string(good.size()) + " bytes) and read back equal", error.c_str());
        std::string first;
        int const accepted = countAcceptedChanges(
            good,
            [](unsigned char const* data, size_t length)
            {
                tpb::SwishParams decoded;
                tpb::ErrorText refused;
                return tpb::readSwishRecordPayload(data, length, decoded, refused);
            },
            first);
        report.check(accepted == 0,
            label + ": all " + std::to_string(good.size() * 255) + " single-byte changes refused (accepted "
                + std::to_string(accepted) + ")",
            first);
        for (size_t cut : {size_t{0}, size_t{1}, good.size() - 1})
        {
            std::unique_ptr<unsigned char[]> shorter(new unsigned char[cut == 0 ? 1 : cut]);
            std::memcpy(shorter.get(), good.data(), cut);
            tpb::ErrorText refused;
            report.check(!tpb::readSwishRecordPayload(shorter.get(), cut, back, refused) && !std::string(refused.c_str()).empty(),
                label + ": truncated to " + std::to_string(cut) + " bytes refused", refused.c_str());
        }
        report.check(!tpb::writeSwishRecord(params, good.data(), good.size() - 1),
            label + ": writeSwishRecord refuses a buffer one byte short");
    }
    {
        // version 3 (before the formats field): still read, as formats = linear only
        unsigned char payload[12 + 8]{};
        float const beta = 1.5F;
        int32_t const v3[] = {6, 1, -1, 4};
        std::memcpy(payload, &beta, 4);
        std::memcpy(payload + 4, v3, sizeof(v3));
        std::vector<unsigned char> old(tpb::recordSize(sizeof(payload)));
        bool const written = tpb::writeRecord(tpb::kSwishRecordMagic, 3, payload, sizeof(payload), old.data(), old.size());
        tpb::SwishParams back;
        back.formats = tpb::kSwishFormatsAnyLayout;
        tpb::ErrorText error;
        bool const read = tpb::readSwishRecordPayload(old.data(), old.size(), back, error);
        report.check(written && read && back.beta == beta && back.kernel == 6 && back.bandCount == 1
                && back.table[0] == -1 && back.table[1] == 4 && back.formats == tpb::kSwishFormatsLinearOnly,
            "Swish record of format version 3 (no formats field) read as formats 0 (linear only)", error.c_str());
    }
    for (uint32_t const version : {1U, 2U})
    {
        std::vector<unsigned char> const old = oldSwishRecord(version, 1.0F, 3, version == 2 ? 1 : 0);
        tpb::SwishParams back;
        tpb::ErrorText error;
        bool const read = tpb::readSwishRecordPayload(old.data(), old.size(), back, error);
        report.check(!read && has(error.c_str(), "older") && has(error.c_str(), "rebuild the engine"),
            "Swish record of the old format version " + std::to_string(version) + " refused, saying to rebuild",
            error.c_str());
    }
    {
        tpb::SwishParams back;
        tpb::ErrorText error;
        report.check(!tpb::readSwishRecordPayload(nullptr, 28, back, error) && has(error.c_str(), "null"),
            "Swish record: null data refused", error.c_str());
    }

    // GELU's record (plugin/geluPlugin/geluRecord.h)
    {
        tpb::GeluParams tanhTwoBands;
        tanhTwoBands.approximation = 1;
        tanhTwoBands.kernel = 5;
        tanhTwoBands.bandCount = 2;
        int32_t const table2[] = {256, 1, -1, 2};
        std::memcpy(tanhTwoBands.table, table2, sizeof(table2));
        for (tpb::GeluParams const& params : {tpb::GeluParams{}, tanhTwoBands})
        {
            std::string const label = "GELU record with " + std::to_string(params.bandCount) + " bands";
            std::vector<unsigned char> good(tpb::geluRecordSize(params));
            bool const written = tpb::writeGeluRecord(params, good.data(), good.size());
            tpb::GeluParams back;
            tpb::ErrorText error;
            bool const read = tpb::readGeluRecordPayload(good.data(), good.size(), back, error);
            report.check(written && read && std::memcmp(&back, &params, sizeof(back)) == 0
                    && good.size() == 28 + 8 * size_t(params.bandCount),
                label + ": written (" + std::to_string(good.size()) + " bytes) and read back equal", error.c_str());
            std::string first;
            int const accepted = countAcceptedChanges(
                good,
                [](unsigned char const* data, size_t length)
                {
                    tpb::GeluParams decoded;
                    tpb::ErrorText refused;
                    return tpb::readGeluRecordPayload(data, length, decoded, refused);
                },
                first);
            report.check(accepted == 0,
                label + ": all " + std::to_string(good.size() * 255) + " single-byte changes refused (accepted "
                    + std::to_string(accepted) + ")",
                first);
            tpb::ErrorText refused;
            report.check(!tpb::readGeluRecordPayload(good.data(), good.size() - 1, back, refused)
                    && !tpb::readGeluRecordPayload(nullptr, good.size(), back, refused)
                    && !tpb::writeGeluRecord(params, good.data(), good.size() - 1),
                label + ": a short record, null data and a short buffer refused", refused.c_str());
        }
    }

    // the example's record
    for (float const alpha : {1.0F, 0.5F, -3.25e7F})
    {
        std::string const label = "HardSwish record (alpha " + std::to_string(alpha) + ")";
        std::vector<unsigned char> good(byo::kHardSwishRecordSize);
        bool const written = byo::writeHardSwishRecord(alpha, good.data(), good.size());
        float back = 0.0F;
        byo::Problem problem;
        bool const read = byo::readHardSwishRecord(good.data(), good.size(), back, problem);
        report.check(written && read && back == alpha, label + ": written and read back equal", problem.c_str());
        std::string first;
        int const accepted = countAcceptedChanges(
            good,
            [](unsigned char const* data, size_t length)
            {
                float decoded = 0.0F;
                byo::Problem refused;
                return byo::readHardSwishRecord(data, length, decoded, refused);
            },
            first);
        report.check(accepted == 0,
            label + ": all " + std::to_string(good.size() * 255) + " single-byte changes refused (accepted "
                + std::to_string(accepted) + ")",
            first);
    }
    {
        float const oldAlpha = 0.75F;
        std::unique_ptr<unsigned char[]> old(new unsigned char[4]);
        std::memcpy(old.get(), &oldAlpha, 4);
        float back = 0.0F;
        byo::Problem problem;
        report.check(!byo::readHardSwishRecord(old.get(), 4, back, problem) && has(problem.c_str(), "old format")
                && has(problem.c_str(), "rebuild the engine"),
            "HardSwish record of the old format (4 bytes of alpha) refused, saying so", problem.c_str());
        report.check(!byo::readHardSwishRecord(nullptr, 20, back, problem), "HardSwish record: null data refused");
        unsigned char nan[byo::kHardSwishRecordSize];
        byo::writeHardSwishRecord(std::numeric_limits<float>::quiet_NaN(), nan, sizeof(nan));
        report.check(!byo::readHardSwishRecord(nan, sizeof(nan), back, problem) && has(problem.c_str(), "finite"),
            "HardSwish record with a NaN alpha (valid checksum) refused", problem.c_str());
    }
}

// -- element counts -----------------------------------------------------------------------------
//! \p values as dims at the very end of a heap block (a read past them is an ASan report).
template <typename Dim>
std::unique_ptr<Dim[]> dimsOf(std::vector<int64_t> const& values)
{
    std::unique_ptr<Dim[]> d(new Dim[values.empty() ? 1 : values.size()]);
    for (size_t i = 0; i < values.size(); ++i)
    {
        d[i] = static_cast<Dim>(values[i]);
    }
    return d;
}

template <typename Dim>
void checkCountsOf(Report& report, char const* type)
{
    struct Case
    {
        char const* what;
        std::vector<int64_t> dims;
        int32_t nbDims; // -2: dims.size()
        bool ok;
        int64_t count;
    };
    int64_t const big = std::numeric_limits<Dim>::max();
    std::vector<Case> cases = {
        {"scalar (rank 0) has 1 element", {}, -2, true, 1},
        {"3x5 has 15", {3, 5}, -2, true, 15},
        {"a 0 dim gives 0 (really empty)", {7, 0, 9}, -2, true, 0},
        {"65536^4 = 2^64 (wraps to 0 unchecked) refused", {65536, 65536, 65536, 65536}, -2, false, 0},
        {"65536^4 x 3 (wraps to 0 unchecked) refused", {65536, 65536, 65536, 65536, 3}, -2, false, 0},
        {"max^3 refused", {big, big, big}, -2, false, 0},
        {"a 0 after overflowing dims gives 0", {big, big, big, 0}, -2, true, 0},
        {"a negative dim refused", {4, -1}, -2, false, 0},
        {"rank -1 refused", {}, -1, false, 0},
        {"rank 9 refused without reading d[8]", {1, 1, 1, 1, 1, 1, 1, 1}, 9, false, 0},
        {"rank 8 of 2s has 256", {2, 2, 2, 2, 2, 2, 2, 2}, -2, true, 256},
    };
    if (sizeof(Dim) == 8)
    {
        cases.push_back({"2^62 x 2 (= 2^63) refused", {int64_t{1} << 62, 2}, -2, false, 0});
        cases.push_back({"2^62 x 1 x 1 = 2^62", {int64_t{1} << 62, 1, 1}, -2, true, int64_t{1} << 62});
    }
    for (Case const& c : cases)
    {
        std::unique_ptr<Dim[]> const d = dimsOf<Dim>(c.dims);
        int32_t const nbDims = c.nbDims == -2 ? static_cast<int32_t>(c.dims.size()) : c.nbDims;
        int64_t count = -7;
        tpb::ErrorText error;
        bool const ok = tpb::checkedElementCount(d.get(), nbDims, count, error, "input");
        report.check(ok == c.ok && (!ok || count == c.count) && (ok || count == -7),
            std::string("checkedElementCount<") + type + ">: " + c.what,
            "ok " + std::to_string(ok) + ", count " + std::to_string(count) + ", " + error.c_str());
        int64_t exampleCount = -7;
        byo::Problem problem;
        bool const exampleOk = byo::hardSwishElementCount(d.get(), nbDims, exampleCount, problem);
        report.check(exampleOk == c.ok && (!exampleOk || exampleCount == c.count),
            std::string("hardSwishElementCount<") + type + ">: " + c.what,
            "ok " + std::to_string(exampleOk) + ", count " + std::to_string(exampleCount) + ", " + problem.c_str());
    }
    int64_t bytes = 0;
    tpb::ErrorText error;
    report.check(!tpb::checkedByteCount(std::numeric_limits<int64_t>::max() / 2 + 1, 2, bytes, error, "input"),
        std::string("checkedByteCount<") + type + ">: elements x bytes over INT64_MAX refused");
}

// -- the example's fields -----------------------------------------------------------------------
void checkExampleFields(Report& report)
{
    float const one = 0.5F;
    float const two[2] = {1.0F, 2.0F};
    float const nan = std::numeric_limits<float>::quiet_NaN();
    int32_t const integer = 1;
    using byo::FieldKind;
    using byo::FieldView;
    struct Case
    {
        char const* what;
        std::vector<FieldView> fields;
        int32_t nbFields; // -2: fields.size()
        bool nullFields;
        char const* message; // expected in the refusal; nullptr: accepted
    };
    Case const cases[] = {
        {"no fields: the default alpha", {}, -2, false, nullptr},
        {"one valid alpha", {{"alpha", &one, FieldKind::kFloat32, 1}}, -2, false, nullptr},
        {"nbFields 2 with null fields", {}, 2, true, "no fields"},
        {"nbFields -1", {}, -1, false, "nbFields=-1"},
        {"nbFields 17", {}, 17, true, "nbFields=17"},
        {"alpha twice", {{"alpha", &one, FieldKind::kFloat32, 1}, {"alpha", &one, FieldKind::kFloat32, 1}}, -2, false,
            "more than once"},
        {"two fields with null data", {{"alpha", nullptr, FieldKind::kFloat32, 1}, {"alpha", nullptr, FieldKind::kFloat32, 1}},
            -2, false, "no data"},
        {"an unknown name", {{"Alpha", &one, FieldKind::kFloat32, 1}}, -2, false, "unknown field"},
        {"a null name", {{nullptr, &one, FieldKind::kFloat32, 1}}, -2, false, "no name"},
        {"an int32 alpha", {{"alpha", &integer, FieldKind::kOther, 1}}, -2, false, "kFLOAT32"},
        {"alpha of length 2", {{"alpha", two, FieldKind::kFloat32, 2}}, -2, false, "length 2"},
        {"alpha of length -1", {{"alpha", &one, FieldKind::kFloat32, -1}}, -2, false, "length -1"},
        {"a NaN alpha", {{"alpha", &nan, FieldKind::kFloat32, 1}}, -2, false, "finite"},
    };
    for (Case const& c : cases)
    {
        // the views in a heap block of exactly their number: a read past them is an ASan report
        std::unique_ptr<FieldView[]> views(new FieldView[c.fields.empty() ? 1 : c.fields.size()]);
        for (size_t i = 0; i < c.fields.size(); ++i)
        {
            views[i] = c.fields[i];
        }
        int32_t const nbFields = c.nbFields == -2 ? static_cast<int32_t>(c.fields.size()) : c.nbFields;
        float alpha = -1.0F;
        byo::Problem problem;
        bool const ok = byo::parseHardSwishFields(c.nullFields ? nullptr : views.get(), nbFields, alpha, problem);
        bool const expected = c.message == nullptr
            ? ok && alpha == (c.fields.empty() ? byo::kHardSwishDefaultAlpha : one)
            : !ok && alpha == -1.0F && has(problem.c_str(), c.message);
        report.check(expected, std::string("parseHardSwishFields: ") + c.what + (c.message ? " refused" : " accepted"),
            problem.c_str());
    }
}

// -- registration -------------------------------------------------------------------------------
//! A creator as the fake registry sees it: name, version and its namespace storage.
struct FakeCreator
{
    char const* name;
    char const* version;
    tpb::CreatorNamespace ns;
    bool registeredByLibrary{false};
};

//! Refuses a second creator of one name, version and namespace, as TensorRT's registry does.
class FakeRegistry final : public tpb::CreatorRegistry
{
public:
    explicit FakeRegistry(bool removable = true)
        : mRemovable(removable)
    {
    }
    bool holds(void const* creator) noexcept override
    {
        std::lock_guard<std::mutex> const lock(mMutex);
        for (Entry const& e : mEntries)
        {
            if (e.creator == creator)
            {
                return true;
            }
        }
        return false;
    }
    bool add(void* creator, char const* ns) noexcept override
    {
        std::lock_guard<std::mutex> const lock(mMutex);
        auto* c = static_cast<FakeCreator*>(creator);
        for (Entry const& e : mEntries)
        {
            if (e.creator == c || (std::strcmp(e.creator->name, c->name) == 0
                    && std::strcmp(e.creator->version, c->version) == 0 && e.ns == ns))
            {
                ++mRefusals;
                return false;
            }
        }
        mEntries.push_back(Entry{c, ns});
        return true;
    }
    bool remove(void* creator) noexcept override
    {
        std::lock_guard<std::mutex> const lock(mMutex);
        for (size_t i = 0; i < mEntries.size(); ++i)
        {
            if (mEntries[i].creator == creator)
            {
                mEntries.erase(mEntries.begin() + static_cast<std::ptrdiff_t>(i));
                return true;
            }
        }
        return false;
    }
    bool canRemove() const noexcept override
    {
        return mRemovable;
    }
    //! The namespace \p creator is held under, or "<none>".
    std::string heldUnder(FakeCreator const* creator)
    {
        std::lock_guard<std::mutex> const lock(mMutex);
        for (Entry const& e : mEntries)
        {
            if (e.creator == creator)
            {
                return e.ns;
            }
        }
        return "<none>";
    }
    int refusals() const
    {
        return mRefusals;
    }

private:
    struct Entry
    {
        FakeCreator* creator;
        std::string ns;
    };
    std::mutex mMutex;
    std::vector<Entry> mEntries;
    int mRefusals{0};
    bool const mRemovable;
};

tpb::CreatorEntry entryOf(FakeCreator& creator, char const* label)
{
    return tpb::CreatorEntry{&creator, label, &creator.ns, &creator.registeredByLibrary};
}

void checkRegistration(Report& report)
{
    {
        tpb::CreatorNamespace ns;
        char const* const initial = ns.get();
        ns.set("first");
        char const* const first = ns.get();
        ns.set("second");
        ns.set("first");
        report.check(std::strcmp(initial, "") == 0 && std::strcmp(first, "first") == 0 && ns.get() == first,
            "CreatorNamespace: a namespace's pointer stays valid and unchanged after later sets (interned)");
        ns.set(nullptr);
        report.check(std::strcmp(ns.get(), "") == 0 && std::strcmp(first, "first") == 0,
            "CreatorNamespace: set(nullptr) is \"\"; earlier pointers still read their text");
    }
    FakeRegistry registry;
    FakeCreator ours{"Swish", "1", {}};
    FakeCreator other{"Swish", "1", {}}; // another library's creator of the same name and version
    tpb::CreatorEntry const entry = entryOf(ours, "Swish v1");
    tpb::ErrorText detail;
    report.check(tpb::registerOnce(registry, entry, "", detail) == tpb::RegisterOutcome::kREGISTERED
            && registry.heldUnder(&ours) == "",
        "registerOnce: registers a creator the registry does not hold", detail.c_str());
    report.check(tpb::registerOnce(registry, entry, "", detail) == tpb::RegisterOutcome::kALREADY
            && registry.refusals() == 0,
        "registerOnce: leaves one held under the namespace alone (no duplicate registerCreator)", detail.c_str());
    other.ns.set("x");
    registry.add(&other, "x");
    tpb::RegisterOutcome const conflict = tpb::registerOnce(registry, entry, "x", detail);
    report.check(conflict == tpb::RegisterOutcome::kKEPT && registry.heldUnder(&ours) == ""
            && std::strcmp(ours.ns.get(), "") == 0 && has(detail.c_str(), "stays registered under \"\""),
        "registerOnce(\"x\") while another Swish v1 holds \"x\": refused clearly, ours stays registered under \"\"",
        std::string(detail.c_str()) + " (held under " + registry.heldUnder(&ours) + ")");
    report.check(!tpb::registeredThere(conflict), "registerOnce: that outcome does not count as registered under \"x\"");
    report.check(tpb::registerOnce(registry, entry, "y", detail) == tpb::RegisterOutcome::kMOVED
            && registry.heldUnder(&ours) == "y" && std::strcmp(ours.ns.get(), "y") == 0,
        "registerOnce: moves one held under another namespace", detail.c_str());
    FakeCreator fresh{"Swish", "1", {}};
    tpb::RegisterOutcome const refused = tpb::registerOnce(registry, entryOf(fresh, "fresh"), "x", detail);
    report.check(refused == tpb::RegisterOutcome::kREFUSED && registry.heldUnder(&fresh) == "<none>"
            && std::strcmp(fresh.ns.get(), "") == 0,
        "registerOnce: a refused first registration leaves the namespace as it was", detail.c_str());
    {
        FakeRegistry fixed(false);
        FakeCreator held{"Swish", "1", {}};
        fixed.add(&held, "");
        tpb::RegisterOutcome const outcome = tpb::registerOnce(fixed, entryOf(held, "held"), "z", detail);
        report.check(outcome == tpb::RegisterOutcome::kNOT_MOVABLE && fixed.heldUnder(&held) == "",
            "registerOnce: where deregistering is unsafe a held creator is not moved", detail.c_str());
        tpb::ErrorText releaseDetail;
        tpb::CreatorEntry const heldEntry = entryOf(held, "held");
        report.check(tpb::releaseForLoader(fixed, &heldEntry, 1, releaseDetail) == 0 && fixed.heldUnder(&held) == ""
                && has(releaseDetail.c_str(), "unsafe"),
            "releaseForLoader: where deregistering is unsafe nothing is released, and it says so", releaseDetail.c_str());
    }
    // the loader hand-over (getPluginCreators / getCreators), then the loader's own registration
    tpb::CreatorEntry const entries[] = {entry};
    tpb::ErrorText releaseDetail;
    report.check(tpb::releaseForLoader(registry, entries, 1, releaseDetail) == 1 && registry.heldUnder(&ours) == "<none>",
        "releaseForLoader: deregisters the creator registered at load, for the loader to register");
    report.check(registry.add(&ours, ours.ns.get()) && registry.heldUnder(&ours) == "y" && !ours.registeredByLibrary,
        "releaseForLoader: the loader's registration then is the only one (not refused as a duplicate), and the "
        "loader's to remove");
    report.check(tpb::deregisterOnUnload(registry, entries, 1) == 0 && registry.heldUnder(&ours) == "y",
        "deregisterOnUnload: leaves a creator the loader registered to the loader (deregisterLibrary)");
    registry.remove(&ours); // the loader's deregisterLibrary
    // unload: nothing the library registered itself stays listed once its code is unmapped
    report.check(tpb::registerOnce(registry, entry, "", detail) == tpb::RegisterOutcome::kREGISTERED
            && ours.registeredByLibrary,
        "registerOnce: a creator registered by the library is marked as the library's", detail.c_str());
    report.check(tpb::deregisterOnUnload(registry, entries, 1) == 1 && registry.heldUnder(&ours) == "<none>"
            && registry.heldUnder(&other) == "x",
        "deregisterOnUnload: removes the creators this library registered, and only them");
    report.check(tpb::deregisterOnUnload(registry, entries, 1) == 0, "deregisterOnUnload: nothing left to remove twice");
}

// -- runner arguments ---------------------------------------------------------------------------
void checkRunnerArgs(Report& report)
{
    struct Case
    {
        std::vector<char const*> args;
        char const* message; // expected in the refusal; nullptr: accepted
    };
    tpb::RunnerLimits const int32Dims{8, std::numeric_limits<int32_t>::max()};
    Case const cases[] = {
        {{"--engine", "e", "--shape", "64x1024", "--threads", "4", "--iterations", "1000"}, nullptr},
        {{"--engine", "e", "--shape", "4", "--threads", "2147483648"}, "--threads must be in 1 .. 4096"},
        {{"--engine", "e", "--shape", "4", "--threads", "4294967297"}, "--threads must be in 1 .. 4096"},
        {{"--engine", "e", "--shape", "4", "--threads", "99999999999999999999999"}, "--threads must be in"},
        {{"--engine", "e", "--shape", "4", "--threads", "-1"}, "--threads must be a whole number"},
        {{"--engine", "e", "--shape", "4", "--threads", "+4"}, "--threads must be a whole number"},
        {{"--engine", "e", "--shape", "4", "--threads", "4 "}, "--threads must be a whole number"},
        {{"--engine", "e", "--shape", "4", "--threads", ""}, "--threads must be a whole number"},
        {{"--engine", "e", "--shape", "4", "--iterations", "2147483648"}, "--iterations must be in"},
        {{"--engine", "e", "--shape", "4", "--graph", "--iterations", "2147483647", "--graph-batch", "2"},
            "rounded up to a multiple of --graph-batch"},
        {{"--engine", "e", "--shape", "4", "--graph", "--iterations", "2147483001", "--graph-batch", "1000"},
            "rounded up to a multiple of --graph-batch"},
        {{"--engine", "e", "--shape", "4294967297x4"}, "--shape dimension must be in 1 .. 2147483647"},
        {{"--engine", "e", "--shape", "2147483648x4"}, "--shape dimension must be in 1 .. 2147483647"},
        {{"--engine", "e", "--shape", "0x4"}, "--shape dimension must be in"},
        {{"--engine", "e", "--shape", "1x1x1x1x1x1x1x1x1"}, "at most 8"},
        {{"--engine", "e", "--shape", "2147483647x2147483647x2147483647"}, "overflows int64"},
        {{"--engine", "e", "--shape", "4", "--seed", "4294967296"}, "--seed must be in"},
        {{"--engine", "e", "--shape", "4", "--warmup", "2147483648"}, "--warmup must be in"},
        {{"--engine", "e", "--shape", "4", "--time-every", "4294967297"}, "--time-every must be in"},
        {{"--engine", "e", "--shape", "4", "--graph-batch", "2"}, "--graph-batch needs --graph"},
        {{"--engine", "e", "--shape", "4", "--threads"}, "--threads needs a value"},
        {{"--engine", "e", "--shape", "4", "--bogus"}, "unknown argument --bogus"},
        {{"--engine", "e", "--shape", "64x1024", "--threads", "4", "--iterations", "1000", "--bare-kernel", "--graph",
             "--graph-batch", "8"},
            nullptr},
        {{"--clone-check", "C", "--shape", "4", "--bare-kernel"}, "--bare-kernel times an engine's bytes"},
        {{"--engine", "e", "--shape", "4", "--input-file", "x=x.bin"}, "--input-file must be NAME:DTYPE=PATH"},
        {{"--engine", "e", "--shape", "4", "--input-file", "x:fp16="}, "--input-file must be NAME:DTYPE=PATH"},
        {{"--engine", "e", "--shape", "4", "--input-file", ":fp16=p"}, "--input-file must be NAME:DTYPE=PATH"},
        {{"--engine", "e", "--shape", "4", "--input-file", "x:float=p"}, "--input-file x: unknown dtype 'float'"},
        {{"--engine", "e", "--shape", "4", "--input-file", "x:fp32=p", "--input-file", "x:fp32=q"},
            "--input-file names 'x' twice"},
        {{"--engine", "e", "--shape", "4", "--dump-output", "y:fp32=p", "--bare-kernel"},
            "--dump-output writes the engine's outputs"},
        {{"--engine", "e", "--shape", "4", "--field", "eps:float32=1e-5"}, "--field sets the clone drive's plugin fields"},
        {{"--clone-check", "C", "--shape", "4", "--field", "eps:float16=1"}, "--field eps: unknown type 'float16'"},
        {{"--clone-check", "C", "--shape", "4", "--field", "eps:float32=1e39"}, "'1e39' is not a finite float32"},
        {{"--clone-check", "C", "--shape", "4", "--field", "eps:float32=nan"}, "'nan' is not a finite float32"},
        {{"--clone-check", "C", "--shape", "4", "--field", "k:int32=2147483648"}, "--field k must be in"},
        {{"--clone-check", "C", "--shape", "4", "--field", "k:int32=1,,2"}, "--field k must be a whole number"},
        {{"--clone-check", "C", "--shape", "4", "--field", "k:int32=1", "--field", "k:int32=2"},
            "--field names 'k' twice"},
    };
    for (Case const& c : cases)
    {
        std::vector<char const*> argv = {"trt_runner"};
        argv.insert(argv.end(), c.args.begin(), c.args.end());
        std::string command;
        for (char const* a : c.args)
        {
            command += std::string(command.empty() ? "" : " ") + a;
        }
        std::string refusal;
        tpb::RunnerOptions options;
        try
        {
            options = tpb::parseRunnerArgs(static_cast<int>(argv.size()), argv.data(), int32Dims);
        }
        catch (std::exception const& e) // the refusals are std::invalid_argument; anything else fails the check
        {
            refusal = std::string(dynamic_cast<std::invalid_argument const*>(&e) != nullptr ? "" : "(not invalid_argument) ")
                + e.what();
        }
        bool const ok = c.message == nullptr ? refusal.empty() && options.threads == 4 && options.iterations == 1000
                && options.shape == std::vector<int64_t>{64, 1024}
                                             : refusal.find(c.message) != std::string::npos && refusal.rfind("(not", 0) != 0;
        report.check(ok, "trt_runner " + command + (c.message ? ": refused" : ": accepted"), refusal);
    }
    char const* const bare[] = {"trt_runner", "--engine", "e", "--shape", "4", "--bare-kernel"};
    report.check(tpb::parseRunnerArgs(6, bare, int32Dims).bareKernel, "trt_runner --bare-kernel: the bare kernel's mode");
    tpb::RunnerLimits const int64Dims{8, std::numeric_limits<int64_t>::max()};
    char const* const wide[] = {"trt_runner", "--engine", "e", "--shape", "4294967297x4"};
    bool accepted = false;
    try
    {
        accepted = tpb::parseRunnerArgs(5, wide, int64Dims).shape == std::vector<int64_t>{4294967297LL, 4};
    }
    catch (std::invalid_argument const&)
    {
    }
    report.check(accepted, "trt_runner --shape 4294967297x4 accepted where dims are int64 (TensorRT >= 10)");
    char const* const files[] = {"trt_runner", "--engine", "e", "--shape", "4", "--input-file", "in:put:fp16=/a=b.bin",
        "--input-file", "gate:bf16=g.bin", "--dump-output", "out:fp32=o.bin"};
    tpb::RunnerOptions const named = tpb::parseRunnerArgs(11, files, int32Dims);
    report.check(named.inputFiles.size() == 2 && named.inputFiles[0].name == "in:put" && named.inputFiles[0].dtype == "fp16"
            && named.inputFiles[0].path == "/a=b.bin" && named.inputFiles[1].dtype == "bf16" && named.dumpOutputs.size() == 1
            && named.dumpOutputs[0].path == "o.bin",
        "trt_runner --input-file NAME:DTYPE=PATH / --dump-output: name up to the last ':' before '=', path after it");
    char const* const fieldArgs[] = {"trt_runner", "--clone-check", "Gelu", "--shape", "4", "--field",
        "approximation:int32=1", "--field", "t:int32=-2147483648,7", "--field", "eps:float32=1e-5", "--field",
        "w:float64=-0.5,2"};
    tpb::RunnerOptions const withFields = tpb::parseRunnerArgs(13, fieldArgs, int32Dims);
    report.check(withFields.fields.size() == 4 && withFields.fields[0].ints == std::vector<int32_t>{1}
            && withFields.fields[1].ints == std::vector<int32_t>{std::numeric_limits<int32_t>::min(), 7}
            && withFields.fields[2].floats == std::vector<double>{1e-5}
            && withFields.fields[3].floats == std::vector<double>{-0.5, 2.0},
        "trt_runner --field NAME:TYPE=V[,V...]: int32 (signed, in range), float32, float64 lists");
    bool wrapped = false;
    try
    {
        tpb::checkedByteCount(std::numeric_limits<int64_t>::max() / 2 + 1, 2, "--input-file x");
    }
    catch (std::invalid_argument const& e)
    {
        wrapped = std::string(e.what()).find("--input-file x") != std::string::npos;
    }
    report.check(wrapped && tpb::checkedByteCount(6, 2, "x") == 12,
        "trt_runner byte counts: an int64 overflow is refused naming the file, never wrapped");
    char const* const batch[] = {"trt_runner", "--engine", "e", "--shape", "4", "--graph", "--iterations", "10",
        "--graph-batch", "4"};
    report.check(tpb::parseRunnerArgs(10, batch, int32Dims).iterations == 12,
        "trt_runner --iterations 10 --graph-batch 4: rounded up to 12 (whole launches)");
}

// -- threads (TSan) -----------------------------------------------------------------------------
//! Several threads register, move and hand over creators (each sequence under one mutex, as the
//! library does) while others read the creators' namespaces without any lock, as TensorRT does from
//! its own threads (getPluginNamespace while another thread calls initSwishPlugins). Under TSan the
//! old design (a std::string written under the mutex, read without it) is a reported data race.
void checkThreads(Report& report)
{
    FakeRegistry registry;
    FakeCreator creators[2] = {{"Swish", "1", {}}, {"Swish", "2", {}}};
    tpb::CreatorEntry const entries[2] = {entryOf(creators[0], "Swish v1"), entryOf(creators[1], "Swish v2")};
    std::mutex registrationMutex;
    std::atomic<bool> stop{false};
    std::atomic<long> reads{0};
    std::atomic<long> badReads{0};
    char const* const namespaces[] = {"", "alpha", "beta_ns", "a_rather_longer_namespace_name_to_force_a_heap_buffer"};
    std::vector<std::thread> threads;
    for (int w = 0; w < 3; ++w)
    {
        threads.emplace_back(
            [&, w]
            {
                for (int i = 0; i < 2000; ++i)
                {
                    std::lock_guard<std::mutex> const lock(registrationMutex);
                    tpb::ErrorText detail;
                    if ((i + w) % 7 == 0)
                    {
                        tpb::releaseForLoader(registry, entries, 2, detail);
                    }
                    for (tpb::CreatorEntry const& entry : entries)
                    {
                        tpb::registerOnce(registry, entry, namespaces[(i * 3 + w) % 4], detail);
                    }
                }
            });
    }
    for (int r = 0; r < 3; ++r)
    {
        threads.emplace_back(
            [&]
            {
                while (!stop.load())
                {
                    for (FakeCreator const& c : creators)
                    {
                        char const* const ns = c.ns.get(); // no lock, as TensorRT reads it
                        size_t const length = std::strlen(ns);
                        bool known = false;
                        for (char const* n : namespaces)
                        {
                            known = known || std::strcmp(ns, n) == 0;
                        }
                        badReads += known && length < 100 ? 0 : 1;
                        ++reads;
                    }
                }
            });
    }
    for (int w = 0; w < 3; ++w)
    {
        threads[static_cast<size_t>(w)].join();
    }
    stop = true;
    for (size_t t = 3; t < threads.size(); ++t)
    {
        threads[t].join();
    }
    report.check(badReads == 0 && reads > 0,
        "threads: " + std::to_string(reads.load()) + " unlocked namespace reads during 6000 locked registration rounds "
            + "all saw a whole namespace");
    int held = 0;
    for (FakeCreator const& c : creators)
    {
        held += registry.heldUnder(&c) == c.ns.get() ? 1 : 0;
    }
    report.check(held == 2, "threads: afterwards each creator is registered once, under the namespace it reports");
}

} // namespace

int main(int argc, char** argv)
{
    std::string const mode = argc > 1 ? argv[1] : "all";
    if (mode != "all" && mode != "threads")
    {
        std::fprintf(stderr, "usage: %s [all|threads]\n", argv[0]);
        return 2;
    }
    Report report;
    if (mode == "all")
    {
        checkRecords(report);
        checkCountsOf<int32_t>(report, "int32");
        checkCountsOf<int64_t>(report, "int64");
        checkExampleFields(report);
        checkRegistration(report);
        checkRunnerArgs(report);
    }
    checkThreads(report);
    return report.finish();
}
