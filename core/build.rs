//! Generates the Rust views of the shim headers with bindgen, so the on-disk
//! format and the C ABI are defined once, in C, and never hand-copied.
use std::env;
use std::path::PathBuf;

#[derive(Debug)]
struct ZerocopyDerives;

impl bindgen::callbacks::ParseCallbacks for ZerocopyDerives {
    fn add_derives(&self, info: &bindgen::callbacks::DeriveInfo<'_>) -> Vec<String> {
        // On-disk and ABI structs are plain little-endian data: give them
        // zerocopy's checked byte views instead of hand-rolled slicing.
        // Structs holding pointers (callback contexts) are not plain data.
        if info.name.starts_with("vexfs_") && !info.name.ends_with("_ctx") && !info.name.ends_with("_store") {
            vec![
                "zerocopy::FromBytes".into(),
                "zerocopy::IntoBytes".into(),
                "zerocopy::Immutable".into(),
                "zerocopy::KnownLayout".into(),
            ]
        } else {
            vec![]
        }
    }
}

fn generate(header: &str, out_name: &str) {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let shim = manifest.join("../shim");
    let path = shim.join(header);
    println!("cargo:rerun-if-changed={}", path.display());
    let bindings = bindgen::Builder::default()
        .header(path.to_string_lossy())
        .clang_arg(format!("-I{}", shim.display()))
        // The headers use only uapi fixed-width types; parse them as a Linux
        // userspace program would, whatever target the core is built for.
        .clang_arg("--target=x86_64-unknown-linux-gnu")
        .clang_arg("-I/usr/include/x86_64-linux-gnu")
        .use_core()
        .ctypes_prefix("core::ffi")
        // Only what this header itself defines: the core ABI header includes
        // the format header, whose items live in their own Rust module.
        .allowlist_file(format!(".*/{header}"))
        // Functions declared in the shim are implemented by the core (ffi.rs),
        // not imported.
        .blocklist_function(".*")
        .derive_default(true)
        .derive_debug(true)
        .derive_copy(true)
        .layout_tests(false)
        .parse_callbacks(Box::new(ZerocopyDerives))
        .generate()
        .expect("bindgen failed on a shim header");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join(out_name);
    bindings.write_to_file(out).expect("writing bindings");
}

fn main() {
    generate("vexfs_format.h", "format_bindings.rs");
    generate("vexfs_core.h", "core_abi_bindings.rs");
    generate("uapi/vexfs_ioctl.h", "uapi_bindings.rs");
}
