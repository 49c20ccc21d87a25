//! What ARCHITECTURE.md says, checked against the tree: every file it names exists, and it names
//! no machine's absolute path. And two of its invariants that the source text shows: every
//! feature-gated public item says which feature it needs (`doc(cfg)`, for docs.rs), and the
//! facade re-exports every loop the runtime exports, under the same feature.
//!
//! Read on the text, as `runtime/tests/layering.rs` does, with the same plain parsing: attributes
//! are one line each, as rustfmt leaves the ones this crate writes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The folders at the repository's root that a path in ARCHITECTURE.md may start with.
const ROOT_FOLDERS: &[&str] = &[
    "runtime/",
    "macros/",
    "src/",
    "tests/",
    "scripts/",
    "benches/",
    "examples/",
    "fuzz/",
    ".ci/",
];

/// Where a path that starts with none of `ROOT_FOLDERS` (`loops/core.rs`, `context/`) lives: the
/// runtime's layers, as ARCHITECTURE.md writes them.
const RUNTIME_SRC: &str = "runtime/src/";

#[test]
#[cfg_attr(miri, ignore = "reads the source tree; nothing unsafe to check")]
fn every_file_architecture_md_names_exists() {
    let root = repository();
    let text = fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    let missing: Vec<String> = paragraphs(&text)
        .iter()
        .flat_map(|paragraph| missing_files(&root, paragraph))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names files that do not exist: {missing:#?}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "reads the source tree; nothing unsafe to check")]
fn architecture_md_names_no_absolute_path() {
    let text = fs::read_to_string(repository().join("ARCHITECTURE.md")).unwrap();
    let absolute: Vec<String> = paragraphs(&text)
        .iter()
        .flat_map(|paragraph| code_words(paragraph))
        .filter(|word| is_absolute(word))
        .collect();
    assert!(
        absolute.is_empty(),
        "ARCHITECTURE.md names paths of one machine; write them relative to the repository: \
         {absolute:?}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "reads the source tree; nothing unsafe to check")]
fn every_feature_gated_public_item_says_its_feature() {
    let root = repository();
    let mut unmarked = Vec::new();
    for crate_src in ["runtime/src", "src"] {
        let gated_files = gated_module_files(&root.join(crate_src));
        for file in rust_files(&root.join(crate_src)) {
            let text = fs::read_to_string(&file).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (index, line) in lines.iter().enumerate() {
                if !is_public_item(line) {
                    continue;
                }
                let attributes = attributes_above(&lines, index);
                let own_gate = attributes.iter().any(|a| is_feature_cfg(a));
                let top_level_of_gated_file = gated_files.contains(&file) && !line.starts_with(' ');
                let marked = attributes
                    .iter()
                    .any(|a| a.starts_with("#[cfg_attr(docsrs, doc(cfg("));
                if (own_gate || top_level_of_gated_file) && !marked {
                    let at = file.strip_prefix(&root).unwrap().display();
                    unmarked.push(format!("{at}:{}: {}", index + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        unmarked.is_empty(),
        "feature-gated public items without #[cfg_attr(docsrs, doc(cfg(feature = \"...\")))]: \
         {unmarked:#?}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "reads the source tree; nothing unsafe to check")]
fn the_facade_re_exports_every_loop_under_its_feature() {
    let root = repository();
    let runtime = re_exports(&fs::read_to_string(root.join("runtime/src/loops/mod.rs")).unwrap());
    let facade = re_exports(&fs::read_to_string(root.join("src/loops.rs")).unwrap());
    assert!(
        !runtime.is_empty(),
        "no `pub use` found in runtime/src/loops/mod.rs"
    );
    let missing: Vec<_> = runtime.difference(&facade).collect();
    assert!(
        missing.is_empty(),
        "loops (name, feature) that src/loops.rs does not re-export as the runtime does: \
         {missing:?}"
    );
}

/// The repository's root: this test belongs to the facade, whose manifest is there.
fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether a code word is an absolute path (`/home/me/x.py`, `~/x`); not a comment marker
/// (`// SAFETY:`).
fn is_absolute(word: &str) -> bool {
    (word.starts_with('/') && !word.starts_with("//") && word.len() > 1) || word.starts_with("~/")
}

/// The text outside fenced code blocks, in paragraphs: a list item or a run of lines up to a
/// blank line or a heading.
fn paragraphs(text: &str) -> Vec<String> {
    let mut paragraphs = Vec::new();
    let mut current = String::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let starts_new =
            line.trim().is_empty() || line.trim_start().starts_with("- ") || line.starts_with('#');
        if starts_new && !current.is_empty() {
            paragraphs.push(std::mem::take(&mut current));
        }
        current.push_str(line.trim());
        current.push(' ');
    }
    if !current.trim().is_empty() {
        paragraphs.push(current);
    }
    paragraphs
}

/// The words inside `code spans` of a paragraph.
fn code_words(paragraph: &str) -> Vec<String> {
    paragraph
        .split('`')
        .skip(1)
        .step_by(2)
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect()
}

/// The code words that name a file or a folder: a path (`a/b.rs`, `record/`) or a file name
/// (`header.rs`); not Rust paths (`corun::guide`).
fn file_words(paragraph: &str) -> Vec<String> {
    code_words(paragraph)
        .into_iter()
        .filter(|word| !word.contains("::"))
        .filter(|word| {
            word.contains('/')
                || [".rs", ".md", ".sh", ".toml", ".py"]
                    .iter()
                    .any(|extension| word.ends_with(extension))
        })
        .collect()
}

/// The files a paragraph names that do not exist. A path starting with a root folder is taken
/// from the root, any other path from `runtime/src/`. A bare file name (`header.rs`) must be at
/// the root (`Cargo.toml`), or in or below a folder the paragraph names (the codemap names a
/// folder, then its files: "`runtime/src/record/`: `header.rs`..."), where a path taken from
/// `runtime/src/` (`loops/core.rs`) names `runtime/src/`; in a paragraph that names no folder,
/// in or below `runtime/src/`.
fn missing_files(root: &Path, paragraph: &str) -> Vec<String> {
    let mut missing = Vec::new();
    let mut folders = BTreeSet::new();
    let mut bare_names = Vec::new();
    for word in file_words(paragraph) {
        if is_absolute(&word) {
            continue; // architecture_md_names_no_absolute_path
        }
        if !word.contains('/') {
            bare_names.push(word);
            continue;
        }
        let from_root = ROOT_FOLDERS.iter().any(|folder| word.starts_with(folder));
        let path = if from_root {
            word.clone()
        } else {
            format!("{RUNTIME_SRC}{word}")
        };
        if !root.join(&path).exists() {
            missing.push(format!("{word} ({path})"));
        }
        let folder = match path.strip_suffix('/') {
            Some(folder) if from_root => folder,
            None if from_root => path.rsplit_once('/').unwrap().0,
            _ => RUNTIME_SRC.trim_end_matches('/'),
        };
        folders.insert(folder.to_owned());
    }
    if folders.is_empty() {
        folders.insert(RUNTIME_SRC.trim_end_matches('/').to_owned());
    }
    for name in bare_names {
        let found = root.join(&name).is_file()
            || folders
                .iter()
                .any(|folder| contains_file(&root.join(folder), &name));
        if !found {
            missing.push(format!("{name} (in or below {folders:?})"));
        }
    }
    missing
}

/// Whether `folder` or a folder below it holds a file named `name`.
fn contains_file(folder: &Path, name: &str) -> bool {
    if folder.join(name).is_file() {
        return true;
    }
    let Ok(entries) = fs::read_dir(folder) else {
        return false;
    };
    entries
        .flatten()
        .any(|entry| entry.path().is_dir() && contains_file(&entry.path(), name))
}

/// Every `.rs` file below `folder`.
fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(folder).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// The files of the modules that a parent declares behind a feature
/// (`#[cfg(feature = "tokio")] mod tokio;` in `loops/mod.rs`: `loops/tokio.rs`).
fn gated_module_files(src: &Path) -> BTreeSet<PathBuf> {
    let mut gated = BTreeSet::new();
    for file in rust_files(src) {
        let name = file.file_name().unwrap();
        let folder = if name == "mod.rs" || name == "lib.rs" {
            file.parent().unwrap().to_owned()
        } else {
            file.with_extension("")
        };
        let text = fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            let Some(module) = line
                .trim()
                .strip_prefix("mod ")
                .or_else(|| line.trim().strip_prefix("pub mod "))
                .and_then(|rest| rest.strip_suffix(';'))
            else {
                continue;
            };
            if attributes_above(&lines, index)
                .iter()
                .any(|a| is_feature_cfg(a))
            {
                gated.insert(folder.join(format!("{module}.rs")));
                gated.insert(folder.join(module).join("mod.rs"));
            }
        }
    }
    gated
}

/// Whether a line starts a public item (`pub struct`, `pub fn`...): not `pub(crate)`, and not a
/// re-export of the crate's own items (the item carries the attribute where it is defined).
fn is_public_item(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix("pub ") else {
        return false;
    };
    match rest.strip_prefix("use ") {
        Some(path) => !["self::", "crate::", "super::"]
            .iter()
            .any(|local| path.starts_with(local)),
        None => true,
    }
}

/// The attribute lines right above line `index`, skipping doc comments and comments.
fn attributes_above<'a>(lines: &[&'a str], index: usize) -> Vec<&'a str> {
    lines[..index]
        .iter()
        .rev()
        .map(|line| line.trim())
        .take_while(|line| line.starts_with("#[") || line.starts_with("//"))
        .filter(|line| line.starts_with("#["))
        .collect()
}

/// Whether an attribute is a `#[cfg(..)]` on a cargo feature.
fn is_feature_cfg(attribute: &str) -> bool {
    attribute.starts_with("#[cfg(") && attribute.contains("feature = ")
}

/// The names a loops module re-exports with `pub use`, each with the `#[cfg(..)]` line above it
/// (empty when not gated).
fn re_exports(text: &str) -> BTreeSet<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut names = BTreeSet::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let gate = attributes_above(&lines, index)
            .into_iter()
            .find(|a| is_feature_cfg(a))
            .unwrap_or_default()
            .to_owned();
        let path = path.trim_end_matches(';');
        let last = path.rsplit_once("::").map_or(path, |(_, last)| last);
        for name in last.trim_matches(['{', '}']).split(',') {
            names.insert((name.trim().to_owned(), gate.clone()));
        }
    }
    names
}
