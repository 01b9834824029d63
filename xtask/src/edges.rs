//! `cargo xtask edges`: the dependency rules of ARCHITECTURE.md, checked
//! against the resolved dependency graph (`cargo metadata`).
//!
//! The rules are the table between `<!-- edges:begin -->` and
//! `<!-- edges:end -->` in ARCHITECTURE.md, so the page and the check cannot
//! drift apart. Each row names a crate, the crates it must never depend on
//! (directly or through any other crate: normal and build dependencies), and
//! the crates it must not name itself (its direct dependencies). Every crate
//! under `host/` must have a row.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub krate: String,
    /// Never in its dependency closure.
    pub never: Vec<String>,
    /// Never among its direct dependencies.
    pub not_directly: Vec<String>,
}

/// Direct normal and build dependencies by package name, and which packages
/// are the workspace's crates under `host/`.
#[derive(Debug, Default)]
pub struct Graph {
    pub deps: BTreeMap<String, BTreeSet<String>>,
    pub host_crates: BTreeSet<String>,
}

/// Check the rules of `architecture` (the text of ARCHITECTURE.md) against
/// the workspace at `root`. `Ok` with a summary, or every violation.
pub fn check_workspace(root: &Path, cargo: &mut std::process::Command) -> Result<String, String> {
    let page = root.join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&page).map_err(|e| format!("cannot read {}: {e}", page.display()))?;
    let rules = parse_rules(&text)?;
    let out = cargo
        .args(["metadata", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let metadata: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    let graph = Graph::from_metadata(&metadata, root)?;
    let problems = check(&rules, &graph);
    if problems.is_empty() {
        Ok(format!("the dependency rules of ARCHITECTURE.md hold ({} crates checked)", rules.len()))
    } else {
        Err(format!("ARCHITECTURE.md's dependency rules are broken:\n  {}", problems.join("\n  ")))
    }
}

/// The rules table of ARCHITECTURE.md: rows of `` | `crate` | `a`, `b` | `c` | ``.
pub fn parse_rules(text: &str) -> Result<Vec<Rule>, String> {
    let (Some(begin), Some(end)) = (text.find("<!-- edges:begin -->"), text.find("<!-- edges:end -->")) else {
        return Err("ARCHITECTURE.md has no <!-- edges:begin --> … <!-- edges:end --> table".into());
    };
    let mut rules = Vec::new();
    for line in text[begin..end].lines().map(str::trim).filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let names = |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(str::to_string).collect() };
        let [krate, never, not_directly] = cells[..] else {
            return Err(format!("ARCHITECTURE.md: a rules row needs three cells: {line}"));
        };
        let Some(krate) = names(krate).into_iter().next() else { continue }; // the header and its rule
        rules.push(Rule { krate, never: names(never), not_directly: names(not_directly) });
    }
    if rules.is_empty() {
        return Err("ARCHITECTURE.md's rules table has no rows".into());
    }
    Ok(rules)
}

impl Graph {
    /// The graph `cargo metadata` resolved; `root` tells the crates under `host/`.
    pub fn from_metadata(metadata: &Value, root: &Path) -> Result<Self, String> {
        let bad = || "cargo metadata's output is not what this check reads".to_string();
        let mut names = BTreeMap::new();
        let mut host_crates = BTreeSet::new();
        let host = root.join("host");
        for package in metadata["packages"].as_array().ok_or_else(bad)? {
            let (Some(id), Some(name)) = (package["id"].as_str(), package["name"].as_str()) else {
                return Err(bad());
            };
            names.insert(id.to_string(), name.to_string());
            if package["manifest_path"].as_str().is_some_and(|p| Path::new(p).starts_with(&host)) {
                host_crates.insert(name.to_string());
            }
        }
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for node in metadata["resolve"]["nodes"].as_array().ok_or_else(bad)? {
            let name = node["id"].as_str().and_then(|id| names.get(id)).ok_or_else(bad)?;
            let out = deps.entry(name.clone()).or_default();
            for dep in node["deps"].as_array().ok_or_else(bad)? {
                // Dev-dependencies build only the crate's own tests and benches.
                let linked = dep["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].as_str() != Some("dev")));
                if linked && let Some(dep) = dep["pkg"].as_str().and_then(|id| names.get(id)) {
                    out.insert(dep.clone());
                }
            }
        }
        Ok(Self { deps, host_crates })
    }

    /// The way from `from` to `to` through the graph, if `from` depends on `to` at all.
    fn path(&self, from: &str, to: &str) -> Option<Vec<String>> {
        let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(at) = queue.pop_front() {
            for next in self.deps.get(at).into_iter().flatten() {
                if next == from || parent.contains_key(next.as_str()) {
                    continue;
                }
                parent.insert(next, at);
                if next == to {
                    let mut path = vec![to.to_string()];
                    let mut step = to;
                    while let Some(p) = parent.get(step) {
                        path.push(p.to_string());
                        step = p;
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(next);
            }
        }
        None
    }
}

/// Every rule the graph breaks, each with the way it is broken.
pub fn check(rules: &[Rule], graph: &Graph) -> Vec<String> {
    let mut problems = Vec::new();
    for krate in &graph.host_crates {
        if !rules.iter().any(|r| &r.krate == krate) {
            problems.push(format!("{krate} is a crate under host/ with no row in the rules table: give it one"));
        }
    }
    for rule in rules {
        let Some(direct) = graph.deps.get(&rule.krate) else {
            problems.push(format!("{} is in the rules table but not in the workspace", rule.krate));
            continue;
        };
        for forbidden in &rule.never {
            if let Some(path) = graph.path(&rule.krate, forbidden) {
                problems.push(format!("{} must never depend on {forbidden}, but: {}", rule.krate, path.join(" → ")));
            }
        }
        for forbidden in rule.not_directly.iter().filter(|f| direct.contains(*f)) {
            problems.push(format!("{} must not name {forbidden} itself, but depends on it directly", rule.krate));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "
text before
<!-- edges:begin -->
| crate | never depends on | does not name |
|---|---|---|
| `core` | `db`, `engine` | |
| `flow` | `db` | |
| `bin` | | `db` |
<!-- edges:end -->
";

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::default();
        for krate in ["core", "flow", "bin"] {
            g.host_crates.insert(krate.into());
            g.deps.entry(krate.into()).or_default();
        }
        for (from, to) in edges {
            g.deps.entry(from.to_string()).or_default().insert(to.to_string());
        }
        g
    }

    #[test]
    fn the_table_is_read_from_the_page() {
        let rules = parse_rules(PAGE).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            rules[0],
            Rule { krate: "core".into(), never: vec!["db".into(), "engine".into()], not_directly: vec![] }
        );
        assert_eq!(rules[2].not_directly, ["db"]);
        assert!(parse_rules("no table here").unwrap_err().contains("edges:begin"));
    }

    #[test]
    fn a_graph_that_keeps_the_rules_passes() {
        let g = graph(&[("flow", "core"), ("bin", "flow"), ("bin", "store"), ("store", "db")]);
        assert_eq!(check(&parse_rules(PAGE).unwrap(), &g), Vec::<String>::new());
    }

    #[test]
    fn a_crossed_edge_fails_and_shows_the_way() {
        // flow → util → db: forbidden even through another crate.
        let g = graph(&[("flow", "core"), ("flow", "util"), ("util", "db"), ("bin", "db")]);
        let problems = check(&parse_rules(PAGE).unwrap(), &g);
        assert_eq!(
            problems,
            [
                "flow must never depend on db, but: flow → util → db",
                "bin must not name db itself, but depends on it directly",
            ]
        );
    }

    #[test]
    fn a_crate_without_a_row_fails() {
        let mut g = graph(&[]);
        g.host_crates.insert("server".into());
        g.deps.insert("server".into(), BTreeSet::new());
        let problems = check(&parse_rules(PAGE).unwrap(), &g);
        assert_eq!(problems, ["server is a crate under host/ with no row in the rules table: give it one"]);
    }
}
