// Host-only check of the row-norm launch planner (common/rowNormDevice.cuh: planRows, prefetchGrid), no GPU
// needed: for every rows shape, element width, hidden (odd, the fast paths, past the register shapes) and
// row count (1 .. beyond the grid cap) and device size, the plan's units cover every row (chunks and pairs
// included), a thread holds 1..8 vectors and the row fits its threads, the grid stays under the cap, a
// prefetch chunk is a multiple of its group and at most the cap's rows unless the grid is capped, and
// rows that do not fill the device twice keep one group a unit. Planted faults (a chunk one short, a grid
// one block short) must fail the same checks. Exit code 0 only if every check passes.
//
// Usage: row_norm_plan_check
#include "rowNormDevice.cuh"

#include <cstdio>

namespace
{

using namespace tpb::rownorm;

//! Rows the plan's units reach (groups of \p group rows a unit, or prefetch chunks).
int64_t rowsReached(RowLaunch const& p, int32_t group)
{
    int64_t const units = p.blocks * p.rowsPerBlock;
    return p.chunk > 0 ? units * p.chunk : (p.blocks == kMaxGridX ? INT64_MAX : units * group);
}

int gFailed = 0;
int gPassed = 0;

void expect(bool ok, char const* what, int32_t elems, int64_t hidden, int64_t rows)
{
    if (ok)
    {
        ++gPassed;
        return;
    }
    ++gFailed;
    std::printf("FAIL %s (elems %d hidden %lld rows %lld)\n", what, elems, static_cast<long long>(hidden),
        static_cast<long long>(rows));
}

} // namespace

int main()
{
    int64_t const hiddens[] = {3, 4, 8, 100, 520, 1024, 1028, 4096, 8192, 16384, 32768, 65536};
    int64_t const rowCounts[] = {1, 3, 37, 1000, 8192, 32768, 65536, (int64_t{1} << 23) + 9, (int64_t{1} << 26) + 5};
    int64_t const residents[] = {0, 264, 8448};
    for (int32_t elems : {4, 8})
    {
        for (int64_t hidden : hiddens)
        {
            for (int64_t rows : rowCounts)
            {
                for (RowShape shape : {RowShape::kPREFETCH, RowShape::kTWO_ROWS, RowShape::kWEIGHTS_FIRST})
                {
                    RowLaunch const plan = planRows(shape, rows, hidden, elems, true);
                    bool const fits = hidden % elems == 0 && hidden / elems <= int64_t{kBlockMaxThreads} * kBlockMaxVpt;
                    expect((plan.shape == RowShape::kGENERIC) == !fits, "generic exactly where the row does not fit",
                        elems, hidden, rows);
                    if (plan.shape == RowShape::kGENERIC)
                    {
                        continue;
                    }
                    int32_t const group = shape == RowShape::kTWO_ROWS ? 2 : 1;
                    expect(plan.vectorsPerThread >= 1 && plan.vectorsPerThread <= 8
                            && int64_t{plan.threads} * plan.vectorsPerThread >= hidden / elems
                            && plan.threads % kWarpSize == 0 && plan.threads <= kBlockMaxThreads,
                        "1..8 vectors a thread, the row fits", elems, hidden, rows);
                    expect(plan.blocks >= 1 && plan.blocks <= kMaxGridX, "grid within the cap", elems, hidden, rows);
                    if (shape != RowShape::kPREFETCH)
                    {
                        expect(rowsReached(plan, group) >= rows, "units cover the rows", elems, hidden, rows);
                        continue;
                    }
                    for (int64_t resident : residents)
                    {
                        for (int32_t g : {1, 2})
                        {
                            RowLaunch p = plan;
                            int32_t const maxRows = g == 1 ? kPrefetchRows : 8;
                            prefetchGrid(p, rows, resident, g, maxRows);
                            expect(p.chunk >= g && p.chunk % g == 0, "chunk a multiple of the group", elems, hidden, rows);
                            expect(rowsReached(p, g) >= rows, "chunks cover the rows", elems, hidden, rows);
                            expect(p.blocks >= 1 && p.blocks <= kMaxGridX, "prefetch grid within the cap", elems, hidden, rows);
                            expect(p.chunk <= maxRows || p.blocks == kMaxGridX, "chunk at most maxRows below the cap",
                                elems, hidden, rows);
                            if (resident > 0 && rows < 2 * resident)
                            {
                                expect(p.chunk == g, "small tensors: one group a unit", elems, hidden, rows);
                            }
                            // planted faults: the same checks must catch a chunk one group short, a grid one short
                            if (p.chunk > g && p.blocks * p.rowsPerBlock * (p.chunk - g) < rows)
                            {
                                RowLaunch q = p;
                                q.chunk -= g;
                                expect(rowsReached(q, g) < rows, "planted: a short chunk is caught", elems, hidden, rows);
                            }
                            if (p.blocks > 1 && (p.blocks - 1) * p.rowsPerBlock * p.chunk < rows)
                            {
                                RowLaunch q = p;
                                q.blocks -= 1;
                                expect(rowsReached(q, g) < rows, "planted: a short grid is caught", elems, hidden, rows);
                            }
                        }
                    }
                }
            }
        }
    }
    std::printf("row_norm_plan_check: %d passed, %d failed\n", gPassed, gFailed);
    return gFailed == 0 ? 0 : 1;
}
