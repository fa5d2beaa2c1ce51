//! The api's layers, checked (see docs/ARCHITECTURE.md, "Inside the api"): the edge (`graphql`,
//! `http`) reaches `state`; `state` hands out narrow handles to `service`; services use the
//! lower modules (`commands`, `calls`, `auth`, `access_log`, `reactions`, `store`, …). This test
//! reads every `crate::…` path in the crate's sources (comments skipped, `use crate::{…}` groups
//! included) and fails on an import cycle between top-level modules, on a module other than
//! the command-line tools using the composition root `app`, and on `service` reaching up to
//! the edge or to `AppState`.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// Modules allowed to use `app` (the composition root): the command-line tools.
    const TOOLS: [&str; 5] = ["cli", "bench", "bench_import", "contract", "recovery"];
    /// What `service` may never use.
    const ABOVE_SERVICE: [&str; 5] = ["graphql", "http", "state", "app", "cli"];

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read api/src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// Top-level module of a file under `api/src`.
    fn module_of(root: &Path, file: &str) -> String {
        let rel = Path::new(file).strip_prefix(root).expect("under src");
        let first = rel.components().next().expect("component");
        first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string()
    }

    /// Every top-level module named by a `crate::name` path or in a `use crate::{…}` group.
    fn uses(text: &str) -> BTreeSet<String> {
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut found = BTreeSet::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.insert(name);
            }
        }
        found
    }

    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let modules: BTreeSet<String> = files
            .iter()
            .map(|(f, _)| module_of(&root, f))
            .filter(|m| m != "lib" && m != "main")
            .collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (file, text) in &files {
            let from = module_of(&root, file);
            if !modules.contains(&from) {
                continue;
            }
            let to = graph.entry(from.clone()).or_default();
            for used in uses(text) {
                if used != from && modules.contains(&used) {
                    to.insert(used);
                }
            }
        }
        graph
    }

    /// A cycle through `from`, if any (depth-first).
    fn cycle(
        graph: &BTreeMap<String, BTreeSet<String>>,
        node: &str,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut c = path[i..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = cycle(graph, next, path) {
                return Some(c);
            }
        }
        path.pop();
        None
    }

    #[test]
    fn api_modules_form_no_cycle() {
        let graph = graph();
        assert!(graph.contains_key("service") && graph.contains_key("http"));
        for module in graph.keys() {
            if let Some(c) = cycle(&graph, module, &mut Vec::new()) {
                panic!("import cycle between api modules: {}", c.join(" → "));
            }
        }
    }

    #[test]
    fn only_the_tools_use_the_composition_root() {
        for (module, used) in graph() {
            if used.contains("app") {
                assert!(
                    TOOLS.contains(&module.as_str()),
                    "{module} uses app: only {TOOLS:?} may (app builds everything else)"
                );
            }
        }
    }

    #[test]
    fn services_never_reach_the_edge_or_the_app_state() {
        let graph = graph();
        let used = &graph["service"];
        for above in ABOVE_SERVICE {
            assert!(
                !used.contains(above),
                "service uses {above}: services take narrow handles and know no transport"
            );
        }
    }

    #[test]
    fn the_check_reads_groups_and_skips_comments() {
        let found = uses("use crate::{a::X, b};\n// crate::c\nlet x = crate::d::y;");
        assert_eq!(
            found,
            ["a", "b", "d"].iter().map(|s| s.to_string()).collect()
        );
    }
}
