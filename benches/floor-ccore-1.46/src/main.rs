//! The floor of `benches/compare.rs` (`benches/floor/mod.rs`) built on
//! grpcio 0.12.1, which bundles C-core 1.46.5. Measured only, never shipped.

#[path = "../../floor/mod.rs"]
mod floor;

fn main() {
    floor::serve()
}
