//! A WASI command component: a valid component, but for the wrong world.
fn main() {
    println!("I am a command, not a weft plugin");
}
