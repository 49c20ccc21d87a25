//! The layering of `runtime/src` (ARCHITECTURE.md, "Layers"), checked on the source text: no
//! import cycle between its files, and no file importing from a layer above its own.
//!
//! A file is a module. Its imports are the `crate::…`, `super::…` and `self::…` paths it names
//! (in `use` items, groups included, or inline), and in a `lib.rs`/`mod.rs`, the paths through
//! its own child modules (`child::Item`): a path ties the file to the deepest file that the path
//! names (`a/b.rs` or `a/b/mod.rs`, else `a.rs`...). Comments and string literals are skipped;
//! test modules count like any code. A group (`crate::a::{b::C, d}`) ties the file to `a/b.rs`
//! and `a/d.rs`, finer than a reader that stops at the group's prefix `a` (as the project's
//! first module-cycle script did); both find the same cycles here (none).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, bottom up: a file may import only from its own layer and those below. The first
/// prefix that a file's path (relative to `src/`) starts with gives its layer.
const LAYERS: &[(&str, u8)] = &[
    // 1. the record: task header, flags, ids, `TaskRef`, reports, a loop's mailbox
    ("record/", 1),
    ("report_sink.rs", 1),
    ("tracing_events.rs", 1),
    // 2. the loop layer, and the thread pool beside it
    ("event_loop.rs", 2),
    ("loops/", 2),
    ("thread_pool.rs", 2),
    // 3. the context
    ("context/", 3),
    // 4. tasks, cancellation, time, threads, debug mode, gather
    ("task/", 4),
    ("cancel.rs", 4),
    ("time.rs", 4),
    ("to_thread.rs", 4),
    ("debug.rs", 4),
    ("gather.rs", 4),
    ("gather_all.rs", 4),
    ("woken.rs", 4),
    // 5. the run, and signals
    ("run/", 5),
    ("signals.rs", 5),
    // the crate root re-exports from every layer
    ("lib.rs", 6),
];

/// What the loop layer (`event_loop.rs`, `loops/`) may import: itself and the record; never the
/// context, the run or the task layer.
const LOOP_LAYER_MAY_USE: &[&str] = &["event_loop.rs", "loops/", "record/"];

#[test]
#[cfg_attr(miri, ignore = "reads the source text; nothing unsafe to check")]
fn runtime_src_has_no_import_cycle() {
    let graph = Graph::read(&src_dir());
    let cycles = graph.cycles();
    assert!(
        cycles.is_empty(),
        "import cycles between files of runtime/src: {cycles:?}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "reads the source text; nothing unsafe to check")]
fn every_file_imports_only_from_its_layer_and_below() {
    let graph = Graph::read(&src_dir());
    let mut violations = Vec::new();
    for (file, imports) in &graph.edges {
        let own = layer_of(file);
        for import in imports {
            if layer_of(import) > own {
                violations.push(format!(
                    "{file} (layer {own}) imports {import} (layer {})",
                    layer_of(import)
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
#[cfg_attr(miri, ignore = "reads the source text; nothing unsafe to check")]
fn the_loop_layer_imports_only_itself_and_the_record() {
    let graph = Graph::read(&src_dir());
    let loop_files: Vec<&String> = graph
        .edges
        .keys()
        .filter(|file| *file == "event_loop.rs" || file.starts_with("loops/"))
        .collect();
    assert!(loop_files.len() >= 2, "found the loop layer's files");
    for file in loop_files {
        for import in &graph.edges[file] {
            assert!(
                LOOP_LAYER_MAY_USE.iter().any(|p| import.starts_with(p)),
                "{file} imports {import}: the loop layer may use only {LOOP_LAYER_MAY_USE:?}"
            );
        }
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads the source text; nothing unsafe to check")]
fn the_checker_finds_a_cycle_through_a_group_and_a_parent_module() {
    let graph = Graph::from_sources(&[
        ("lib.rs", "mod a; mod b; pub use a::A;"),
        ("a/mod.rs", "mod inner; pub use inner::A;"),
        ("a/inner.rs", "use crate::{b::B, c};"),
        (
            "b.rs",
            "// use crate::c;\nfn f() { let _ = \"crate::c\"; super::a::g(); }",
        ),
        ("c.rs", ""),
    ]);
    assert_eq!(graph.edges["a/inner.rs"], set(&["b.rs", "c.rs"]));
    assert_eq!(
        graph.edges["b.rs"],
        set(&["a/mod.rs"]),
        "comments and strings are skipped"
    );
    assert_eq!(
        graph.cycles(),
        vec![vec![
            "a/inner.rs".to_owned(),
            "a/mod.rs".to_owned(),
            "b.rs".to_owned()
        ]]
    );
    let acyclic = Graph::from_sources(&[("a.rs", "use crate::b::B;"), ("b.rs", "")]);
    assert!(acyclic.cycles().is_empty());
}

fn src_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn set(files: &[&str]) -> BTreeSet<String> {
    files.iter().map(|f| (*f).to_owned()).collect()
}

fn layer_of(file: &str) -> u8 {
    LAYERS
        .iter()
        .find(|(prefix, _)| file.starts_with(prefix))
        .map(|&(_, layer)| layer)
        .unwrap_or_else(|| panic!("{file} has no layer: add it to LAYERS in tests/layering.rs"))
}

/// Files (paths relative to `src/`, with `/`) and the files each imports.
struct Graph {
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Graph {
    fn read(src: &Path) -> Graph {
        let mut sources = Vec::new();
        collect_rs(src, src, &mut sources);
        assert!(!sources.is_empty(), "no .rs files under {}", src.display());
        let borrowed: Vec<(&str, &str)> = sources
            .iter()
            .map(|(path, text)| (path.as_str(), text.as_str()))
            .collect();
        Graph::from_sources(&borrowed)
    }

    fn from_sources(sources: &[(&str, &str)]) -> Graph {
        let files: BTreeSet<String> = sources.iter().map(|(path, _)| (*path).to_owned()).collect();
        let edges = sources
            .iter()
            .map(|&(path, text)| {
                let imports = imports_of(path, &strip(text), &files);
                (path.to_owned(), imports)
            })
            .collect();
        Graph { edges }
    }

    /// Every set of two or more files that import each other, directly or not (Tarjan's
    /// strongly connected components), each sorted.
    fn cycles(&self) -> Vec<Vec<String>> {
        struct Tarjan<'g> {
            graph: &'g Graph,
            index: BTreeMap<&'g str, usize>,
            low: BTreeMap<&'g str, usize>,
            stack: Vec<&'g str>,
            on_stack: BTreeSet<&'g str>,
            found: Vec<Vec<String>>,
        }
        impl<'g> Tarjan<'g> {
            fn visit(&mut self, v: &'g str) {
                let n = self.index.len();
                self.index.insert(v, n);
                self.low.insert(v, n);
                self.stack.push(v);
                self.on_stack.insert(v);
                for w in &self.graph.edges[v] {
                    let w = w.as_str();
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.on_stack.contains(w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
                if self.low[v] == self.index[v] {
                    let mut component = Vec::new();
                    loop {
                        let w = self.stack.pop().expect("v is on the stack");
                        self.on_stack.remove(w);
                        component.push(w.to_owned());
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort();
                        self.found.push(component);
                    }
                }
            }
        }
        let mut tarjan = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            found: Vec::new(),
        };
        for v in self.edges.keys() {
            if !tarjan.index.contains_key(v.as_str()) {
                tarjan.visit(v);
            }
        }
        tarjan.found
    }
}

fn collect_rs(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect_rs(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src/");
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            out.push((name, text));
        }
    }
}

/// The source without comments, and with every string and char literal emptied.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1).copied()) {
            ('/', Some('/')) => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            ('"', _) => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            // A char literal ('x', '\n', '"'), not a lifetime ('a).
            ('\'', Some(c)) if c == '\\' || chars.get(i + 2) == Some(&'\'') => {
                i += if c == '\\' { 2 } else { 1 };
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// The module path of a file: `a/b.rs` is `a::b`, `a/mod.rs` is `a`, `lib.rs` the root.
fn module_path(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The deepest file that a module path names, if any.
fn file_of(parts: &[String], files: &BTreeSet<String>) -> Option<String> {
    (1..=parts.len()).rev().find_map(|k| {
        let base = parts[..k].join("/");
        [format!("{base}.rs"), format!("{base}/mod.rs")]
            .into_iter()
            .find(|candidate| files.contains(candidate))
    })
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The files that `file` (its stripped text) imports.
fn imports_of(file: &str, text: &str, files: &BTreeSet<String>) -> BTreeSet<String> {
    let me = module_path(file);
    let is_parent = file == "lib.rs" || file.ends_with("/mod.rs");
    let mut imports = BTreeSet::new();
    let mut add = |parts: Vec<String>| {
        if let Some(target) = file_of(&parts, files) {
            if target != file {
                imports.insert(target);
            }
        }
    };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !is_ident(chars[i - 1]);
        if !(starts_word && is_ident(chars[i])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let after_colons = start >= 2 && chars[start - 2..start] == [':', ':'];
        if after_colons {
            continue;
        }
        let base = match word.as_str() {
            "crate" => Vec::new(),
            "self" => me.clone(),
            "super" => me[..me.len().saturating_sub(1)].to_vec(),
            // A path through one of this module's own children, from its `lib.rs`/`mod.rs`.
            _ if is_parent && chars.get(i..i + 2) == Some(&[':', ':']) => {
                let mut parts = me.clone();
                parts.push(word.clone());
                if let Some(target) = file_of(&parts, files) {
                    if target != file && module_path(&target)[..] == parts[..] {
                        add(parts);
                    }
                }
                continue;
            }
            _ => continue,
        };
        for path in use_tree(&chars, &mut i) {
            let mut parts = base.clone();
            parts.extend(path);
            if !parts.is_empty() {
                add(parts);
            }
        }
    }
    imports
}

/// The paths of the use-tree that follows a path's head (`::a::b`, `::{a::b, c}`, `::*`),
/// advancing `i` past it. Empty if no `::` follows.
fn use_tree(chars: &[char], i: &mut usize) -> Vec<Vec<String>> {
    let mut prefix = Vec::new();
    loop {
        if chars.get(*i..*i + 2) != Some(&[':', ':']) {
            return if prefix.is_empty() {
                Vec::new()
            } else {
                vec![prefix]
            };
        }
        *i += 2;
        while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
        match chars.get(*i) {
            Some('{') => {
                *i += 1;
                let mut paths = Vec::new();
                loop {
                    while chars
                        .get(*i)
                        .is_some_and(|c| c.is_whitespace() || *c == ',')
                    {
                        *i += 1;
                    }
                    match chars.get(*i) {
                        None => return paths,
                        Some('}') => {
                            *i += 1;
                            return paths;
                        }
                        Some(&c) if is_ident(c) => {
                            let start = *i;
                            while chars.get(*i).is_some_and(|&c| is_ident(c)) {
                                *i += 1;
                            }
                            let head: String = chars[start..*i].iter().collect();
                            let tails = use_tree(chars, i);
                            let mut path = prefix.clone();
                            path.push(head);
                            if tails.is_empty() {
                                paths.push(path);
                            } else {
                                paths.extend(tails.into_iter().map(|tail| {
                                    path.iter().cloned().chain(tail).collect::<Vec<_>>()
                                }));
                            }
                        }
                        // `*`, `self` handled as a name, ` as x`: skip the character.
                        Some(_) => *i += 1,
                    }
                }
            }
            Some(&c) if is_ident(c) => {
                let start = *i;
                while chars.get(*i).is_some_and(|&c| is_ident(c)) {
                    *i += 1;
                }
                prefix.push(chars[start..*i].iter().collect());
            }
            _ => {
                return if prefix.is_empty() {
                    Vec::new()
                } else {
                    vec![prefix]
                };
            }
        }
    }
}
