//! `kaden`: reads the command line and hands over to [`kaden_api::cli`].

fn main() -> std::process::ExitCode {
    kaden_api::cli::main()
}
