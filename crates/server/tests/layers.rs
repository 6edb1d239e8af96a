//! The server's layering, checked from its source: faces (the API `http`, the pages `web`,
//! `open311`, the CLI `main.rs`) build on the application layer (`app`) and never import each
//! other; the application layer knows nothing of HTTP; and no two parts of the crate import each
//! other in a circle. Only `routes` (the composition root) knows every face.
//!
//! References are read from the text: `crate::x` inside the library, `safegrid::x` in the CLI.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const FACES: [&str; 3] = ["http", "web", "open311"];

/// The crate's top-level parts (a file or folder under `src/`) and the parts each refers to.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("src") {
        let path = entry.expect("entry").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name")
            .to_string();
        if name == "lib" {
            continue;
        }
        let (files, prefix) = if name == "main" {
            (vec![path.clone()], "safegrid::")
        } else {
            (rust_files(&path), "crate::")
        };
        let refs = g.entry(name.clone()).or_default();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("source");
            for line in text
                .lines()
                .map(str::trim_start)
                .filter(|l| !l.starts_with("//"))
            {
                for (i, _) in line.match_indices(prefix) {
                    let rest = &line[i + prefix.len()..];
                    let part: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !part.is_empty() && part != name {
                        refs.insert(part);
                    }
                }
            }
        }
    }
    g
}

fn rust_files(p: &Path) -> Vec<PathBuf> {
    if p.is_file() {
        return if p.extension().is_some_and(|e| e == "rs") {
            vec![p.to_path_buf()]
        } else {
            vec![]
        };
    }
    let mut out = vec![];
    for e in std::fs::read_dir(p).expect("dir") {
        out.extend(rust_files(&e.expect("entry").path()));
    }
    out
}

#[test]
fn no_face_imports_another_face() {
    let g = graph();
    let faces: Vec<&str> = FACES.iter().copied().chain(["main"]).collect();
    for face in &faces {
        let refs = &g[*face];
        for other in faces.iter().filter(|o| o != &face) {
            assert!(
                !refs.contains(*other),
                "the face `{face}` imports the face `{other}`: move what they share into `app` (rules) or `http_common` (HTTP plumbing)"
            );
        }
        assert!(
            !refs.contains("routes"),
            "`{face}` imports the composition root"
        );
    }
}

#[test]
fn the_application_layer_knows_nothing_of_http() {
    let g = graph();
    for part in ["app", "http_common", "routes"]
        .into_iter()
        .chain(FACES)
        .filter(|p| *p != "app")
    {
        assert!(!g["app"].contains(part), "`app` imports `{part}`");
    }
    for f in rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app")) {
        let text = std::fs::read_to_string(&f).expect("source");
        for bad in ["axum", "tower", "http::StatusCode", "reqwest"] {
            assert!(
                !text
                    .lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains(bad)),
                "{} mentions `{bad}`: the application layer knows nothing of HTTP",
                f.display()
            );
        }
    }
    for face in FACES {
        assert!(
            !g["http_common"].contains(face),
            "`http_common` imports `{face}`"
        );
    }
}

#[test]
fn no_import_circle() {
    let g = graph();
    // Depth-first search for a back edge, reporting the circle it closes.
    fn visit<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(n) {
            return;
        }
        if let Some(i) = stack.iter().position(|s| *s == n) {
            panic!("import circle: {} -> {n}", stack[i..].join(" -> "));
        }
        stack.push(n);
        for m in g.get(n).into_iter().flatten() {
            if g.contains_key(m.as_str()) {
                visit(m, g, stack, done);
            }
        }
        stack.pop();
        done.insert(n);
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        visit(n, &g, &mut vec![], &mut done);
    }
}

/// The check itself must see what it checks: the faces refer to `app`, `routes` to the faces.
#[test]
fn the_graph_is_read() {
    let g = graph();
    for face in FACES {
        assert!(g[face].contains("app"), "{face}: {:?}", g[face]);
    }
    for face in FACES {
        assert!(g["routes"].contains(face), "routes: {:?}", g["routes"]);
    }
    assert!(g["main"].contains("app"), "main: {:?}", g["main"]);
}
