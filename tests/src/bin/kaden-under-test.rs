//! The `kaden` binary, built inside this package so that tests can start it as a real process
//! (`CARGO_BIN_EXE_kaden-under-test`) and kill it.

fn main() -> std::process::ExitCode {
    kaden_api::cli::main()
}
