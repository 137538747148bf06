// shim.cc -- the C registration API of bench/shim.h over Google Benchmark.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "shim.h"

struct pb_state {
    benchmark::State *st;
    int64_t items;
};

extern "C" void pb_register(const char *name, pb_fn fn, void *arg)
{
    benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &st) {
        pb_state s{&st, 0};
        fn(&s, arg);
        if (s.items)
            st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * s.items);
    })->Unit(benchmark::kMicrosecond)->UseRealTime();
}

extern "C" int pb_keep_running(pb_state *s) { return s->st->KeepRunning() ? 1 : 0; }
extern "C" void pb_pause(pb_state *s) { s->st->PauseTiming(); }
extern "C" void pb_resume(pb_state *s) { s->st->ResumeTiming(); }
extern "C" void pb_set_items_per_iteration(pb_state *s, int64_t items) { s->items = items; }
extern "C" void pb_set_label(pb_state *s, const char *label) { s->st->SetLabel(label); }
extern "C" void pb_error(pb_state *s, const char *message) { s->st->SkipWithError(message); }

extern "C" int pb_main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
