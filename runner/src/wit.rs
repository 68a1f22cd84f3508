//! The `bifrost:executions` WIT package this host implements, as text and as a binary WIT
//! package: the form component tooling (`wasm-tools`, `wac`, registries) takes.

/// The package's WIT text, as compiled into this host.
pub const WIT: &str = include_str!("../../wit/executions.wit");

/// A binary WIT package: its conventional file name and its bytes.
#[derive(Debug, Clone)]
pub struct WitPackage {
    /// `<namespace>-<name>@<version>.wasm`, here `bifrost-executions@0.1.0.wasm`.
    pub file_name: String,
    /// The package encoded as a WebAssembly component (`wasm-tools component wit --wasm`
    /// gives the same form).
    pub bytes: Vec<u8>,
}

/// Encodes [`WIT`] as a binary WIT package.
pub fn package() -> anyhow::Result<WitPackage> {
    let mut resolve = wit_parser::Resolve::default();
    let id = resolve.push_str("executions.wit", WIT)?;
    let bytes = wit_component::encode(&resolve, id)?;
    let name = &resolve.packages[id].name;
    let version = name
        .version
        .as_ref()
        .map(|v| format!("@{v}"))
        .unwrap_or_default();
    Ok(WitPackage {
        file_name: format!("{}-{}{version}.wasm", name.namespace, name.name),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_is_named_by_its_version_and_decodes_to_the_same_interfaces() {
        let p = package().unwrap();
        assert_eq!(p.file_name, "bifrost-executions@0.1.0.wasm");
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&p.bytes)
            .unwrap();
        let decoded = wit_component::decode(&p.bytes).unwrap();
        let resolve = decoded.resolve();
        let pkg = &resolve.packages[decoded.package()];
        assert_eq!(pkg.name.to_string(), "bifrost:executions@0.1.0");
        let mut interfaces: Vec<&str> = pkg.interfaces.keys().map(String::as_str).collect();
        interfaces.sort();
        assert_eq!(interfaces, ["context", "executions", "logging", "types"]);
        let mut worlds: Vec<&str> = pkg.worlds.keys().map(String::as_str).collect();
        worlds.sort();
        assert_eq!(worlds, ["provider", "workflow"]);
    }
}
