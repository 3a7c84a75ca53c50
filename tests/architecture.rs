//! The layout docs/architecture.md describes, held by the code: the
//! modules of `src/vip/` import one another without a circle, and
//! `vip/mod.rs` only declares them and names what the actions use, so no
//! step imports back up into a parent that knows every step.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of `src/vip/` (mod.rs aside) and the sibling modules its
/// non-test code names (`super::x`, `crate::vip::x`).
fn vip_imports() -> BTreeMap<String, BTreeSet<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vip");
    let sources: BTreeMap<String, String> = std::fs::read_dir(&dir)
        .expect("src/vip")
        .map(|entry| entry.expect("src/vip entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rs"))
        .map(|path| {
            let name = path.file_stem().expect("file name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("module source"))
        })
        .collect();
    let mut graph = BTreeMap::new();
    for (name, source) in &sources {
        if name == "mod" {
            continue;
        }
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        let mut named = BTreeSet::new();
        for prefix in ["super::", "crate::vip::"] {
            for (at, _) in code.match_indices(prefix) {
                let rest = &code[at + prefix.len()..];
                let word: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if sources.contains_key(&word) && word != *name {
                    named.insert(word);
                } else if word.is_empty() || word.starts_with(char::is_uppercase) {
                    // `super::{…}` or `super::Vip`: a name mod.rs re-exports.
                    named.insert("mod".to_string());
                }
            }
        }
        graph.insert(name.clone(), named);
    }
    graph
}

/// A circle through `start`, if there is one.
fn circle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().expect("a path is never empty");
        for next in graph.get(last).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push([path.clone(), vec![next.clone()]].concat());
            }
        }
    }
    None
}

#[test]
fn the_vip_modules_import_one_another_without_a_circle() {
    let graph = vip_imports();
    assert!(graph.len() > 10, "read the modules of src/vip: {graph:?}");
    let circles: Vec<String> =
        graph.keys().filter_map(|name| circle_through(&graph, name)).map(|c| c.join(" -> ")).collect();
    assert!(circles.is_empty(), "import circles in src/vip: {circles:?}");
}

#[test]
fn no_vip_module_imports_back_up_through_mod_rs() {
    let graph = vip_imports();
    let upward: Vec<&String> =
        graph.iter().filter(|(_, named)| named.contains("mod")).map(|(name, _)| name).collect();
    assert!(
        upward.is_empty(),
        "these import what vip/mod.rs re-exports instead of its own module: {upward:?}"
    );
}

#[test]
fn vip_mod_rs_only_declares_modules_and_names_what_actions_use() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vip/mod.rs");
    let source = std::fs::read_to_string(path).expect("src/vip/mod.rs");
    let items: Vec<&str> = source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .filter(|line| {
            !(line.starts_with("pub mod ") || line.starts_with("mod ") || line.starts_with("pub use "))
        })
        .collect();
    assert!(items.is_empty(), "vip/mod.rs holds more than declarations: {items:?}");
}

/// The methods of `Vip` itself, by module: every `impl … Vip<…> {` block's
/// functions (the test code of a module aside).
fn vip_methods() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/vip");
    let mut methods = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("src/vip") {
        let path = entry.expect("src/vip entry").path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let module = path.file_stem().expect("file name").to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).expect("module source");
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        let mut depth: Option<i64> = None;
        for line in code.lines() {
            let opens_vip =
                line.starts_with("impl") && line.contains(" Vip<") && line.trim_end().ends_with('{');
            if depth.is_none() && opens_vip {
                depth = Some(0);
            }
            let Some(level) = depth.as_mut() else { continue };
            if *level == 1 {
                let item = line.trim_start().trim_start_matches("pub(super) ").trim_start_matches("pub ");
                if let Some(rest) = item.strip_prefix("fn ") {
                    let name: String =
                        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    methods.push((module.clone(), name));
                }
            }
            *level += line.matches('{').count() as i64 - line.matches('}').count() as i64;
            if *level == 0 {
                depth = None;
            }
        }
    }
    methods.sort();
    methods
}

/// `Vip` is the borrowed context, the names of a resource's parts and of
/// the small types that do one job each, and the few sequences composing
/// them (docs/architecture.md). It once grew to 150 methods by accretion,
/// each mode adding its checks beside the others; a new job becomes a type
/// of its own, named by one method here, rather than more methods of `Vip`.
#[test]
fn vip_stays_a_context_of_parts_not_a_bag_of_methods() {
    const MOST: usize = 40;
    let methods = vip_methods();
    assert!(methods.len() > 20, "read the methods of Vip: {methods:?}");
    assert!(
        methods.len() <= MOST,
        "Vip has {} methods, more than {MOST}; give the new job a type of its own: {methods:?}",
        methods.len()
    );
    let modules: BTreeSet<&str> = methods.iter().map(|(module, _)| module.as_str()).collect();
    for sequence in ["bring_up", "tear_down", "parts", "locate", "context"] {
        assert!(modules.contains(sequence), "{sequence}.rs adds no method to Vip: {methods:?}");
    }
}
