//! The `bifrost:executions` WIT packages this host implements, as text and as binary WIT
//! packages: the form component tooling (`wasm-tools`, `wac`, registries) takes.

/// The current package's WIT text (`bifrost:executions@0.3.0`), as compiled into this host:
/// what the guest crate, the Python package and the virtual provider build against.
pub const WIT: &str = include_str!("../../wit/executions.wit");

/// The package's WIT text at 0.2.0, whose components this host still runs.
pub const WIT_0_2: &str = include_str!("../../wit/0.2.0/executions.wit");

/// The earliest package's WIT text (`bifrost:executions@0.1.0`), whose components this
/// host still runs.
pub const WIT_0_1: &str = include_str!("../../wit/0.1.0/executions.wit");

/// Every version this host implements, newest first, with its WIT text.
pub const VERSIONS: [(&str, &str); 3] = [("0.3.0", WIT), ("0.2.0", WIT_0_2), ("0.1.0", WIT_0_1)];

/// A binary WIT package: its conventional file name and its bytes.
#[derive(Debug, Clone)]
pub struct WitPackage {
    /// `<namespace>-<name>@<version>.wasm`, e.g. `bifrost-executions@0.3.0.wasm`.
    pub file_name: String,
    /// The package encoded as a WebAssembly component (`wasm-tools component wit --wasm`
    /// gives the same form).
    pub bytes: Vec<u8>,
}

/// Encodes [`WIT`], the current version, as a binary WIT package.
pub fn package() -> anyhow::Result<WitPackage> {
    encode(WIT)
}

/// Encodes the version `version` (one of [`VERSIONS`]) as a binary WIT package.
pub fn package_version(version: &str) -> anyhow::Result<WitPackage> {
    match VERSIONS.iter().find(|(v, _)| *v == version) {
        Some((_, text)) => encode(text),
        None => {
            let (last, rest) = VERSIONS
                .split_last()
                .map_or(("", &[][..]), |(l, r)| (l.0, r));
            let rest: Vec<&str> = rest.iter().map(|(v, _)| *v).collect();
            anyhow::bail!(
                "this host implements bifrost:executions {} and {last}, not {version:?}",
                rest.join(", ")
            )
        }
    }
}

fn encode(text: &str) -> anyhow::Result<WitPackage> {
    let mut resolve = wit_parser::Resolve::default();
    let id = resolve.push_str("executions.wit", text)?;
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
        assert_eq!(
            package().unwrap().bytes,
            package_version("0.3.0").unwrap().bytes
        );
        for (version, _) in VERSIONS {
            check(version);
        }
        let e = package_version("0.4.0").unwrap_err().to_string();
        assert_eq!(
            e,
            "this host implements bifrost:executions 0.3.0, 0.2.0 and 0.1.0, not \"0.4.0\""
        );
    }

    fn check(version: &str) {
        let p = package_version(version).unwrap();
        assert_eq!(p.file_name, format!("bifrost-executions@{version}.wasm"));
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(&p.bytes)
            .unwrap();
        let decoded = wit_component::decode(&p.bytes).unwrap();
        let resolve = decoded.resolve();
        let pkg = &resolve.packages[decoded.package()];
        assert_eq!(
            pkg.name.to_string(),
            format!("bifrost:executions@{version}")
        );
        let mut interfaces: Vec<&str> = pkg.interfaces.keys().map(String::as_str).collect();
        interfaces.sort();
        let mut expected = vec!["context", "executions", "logging", "types"];
        if version == "0.3.0" {
            expected.push("workflows");
        }
        assert_eq!(interfaces, expected);
        let mut worlds: Vec<&str> = pkg.worlds.keys().map(String::as_str).collect();
        worlds.sort();
        assert_eq!(worlds, ["provider", "workflow"]);
    }
}
