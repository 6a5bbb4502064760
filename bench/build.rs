//! Compiles the echo contract the benchmark's baseline server speaks (protox: no system protoc).

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let descriptors = protox::compile([root.join("echo.proto")], [&root])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
