//! `cargo xtask ...`: project automation.
fn main() {
    eprintln!("xtask: not yet wired");
}
