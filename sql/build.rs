//! Embeds each dialect's migrations (`migrations/<dialect>/<version>_<description>.sql`) in
//! the library: `$OUT_DIR/migrations_<dialect>.rs` lists them, oldest first, as
//! `(version, "<description>.sql", include_str!(path))` for `src/migrations.rs`. A file added,
//! changed or removed rebuilds the list; a `.sql` file not named `<integer>_<description>.sql`
//! stops the build (sqlx's own directory reader would skip it without a word).

use std::path::Path;
use std::{env, fs};

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for dialect in ["postgres", "sqlite"] {
        let dir = Path::new(&manifest).join("migrations").join(dialect);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        let mut list = String::from("&[\n");
        for path in &files {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_else(|| panic!("migration file name {} is not UTF-8", path.display()));
            let Some((version, rest)) = name
                .split_once('_')
                .and_then(|(v, rest)| Some((v.parse::<i64>().ok().filter(|v| *v > 0)?, rest)))
            else {
                panic!(
                    "migration {}: the name is not <integer>_<description>.sql",
                    path.display()
                );
            };
            list.push_str(&format!(
                "    ({version}, {rest:?}, include_str!({:?})),\n",
                path.display().to_string()
            ));
        }
        list.push(']');
        let target = Path::new(&out).join(format!("migrations_{dialect}.rs"));
        fs::write(&target, list).unwrap_or_else(|e| panic!("write {}: {e}", target.display()));
    }
}
