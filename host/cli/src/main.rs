/// mimalloc: weft allocates and frees many short-lived JSON values per run on
/// every worker thread; glibc's malloc took ~20% of the CPU in the end-to-end
/// benchmark (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    weft::cli::main()
}
