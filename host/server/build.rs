//! The web UI's files are embedded when this crate compiles (`src/ui.rs`):
//! compile again when `host/ui/dist` changes, or appears (`cargo xtask ui`).
fn main() {
    println!("cargo:rerun-if-changed=../ui/dist");
}
