//! `weft plugin new`: a plugin project that builds as it is.
//!
//! A project is written from `templates/<language>/common/` and
//! `templates/<language>/<kind>/`, with `{{name}}` (and, for Rust,
//! `{{sdk}}`) filled in and `__name__` in file names replaced. JavaScript and
//! Python projects also get weft's WIT in `wit/`, which their toolchains read.

use super::embedded::TEMPLATES;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// What the plugin is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Knows one application's API: actions and triggers, HTTP, kv, settings.
    Connector,
    /// Pure user code: JSON in, JSON out.
    Transform,
}

/// The language it is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// Rust with weft-sdk, built by cargo for wasm32-wasip2.
    Rust,
    /// JavaScript, built by componentize-js.
    #[value(alias = "javascript")]
    Js,
    /// Python, built by componentize-py.
    #[value(alias = "py")]
    Python,
}

impl Language {
    fn folder(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Js => "js",
            Language::Python => "python",
        }
    }

    /// Its name for people.
    pub fn label(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Js => "JavaScript",
            Language::Python => "Python",
        }
    }
}

impl Kind {
    fn folder(self) -> &'static str {
        match self {
            Kind::Connector => "connector",
            Kind::Transform => "transform",
        }
    }
}

/// Where a Rust project's `weft-sdk` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sdk {
    /// A weft checkout's `sdk/` folder.
    Path(PathBuf),
    /// Weft's git repository.
    Git(String),
}

impl Sdk {
    /// `--sdk`'s value: a git URL, or the path of a weft checkout's `sdk/`
    /// folder (or of the checkout itself).
    pub fn parse(value: &str) -> Result<Sdk> {
        if ["https://", "http://", "ssh://", "git@", "file://"].iter().any(|p| value.starts_with(p)) {
            return Ok(Sdk::Git(value.to_string()));
        }
        let mut path = PathBuf::from(value);
        if path.join("sdk").join("Cargo.toml").exists() {
            path = path.join("sdk");
        }
        let manifest = path.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).with_context(|| {
            format!("--sdk {value}: {} is missing (give the path of a weft checkout's sdk/ folder)", manifest.display())
        })?;
        if !text.contains("name = \"weft-sdk\"") {
            bail!("--sdk {value}: {} is not weft-sdk's", manifest.display());
        }
        Ok(Sdk::Path(path.canonicalize().with_context(|| format!("--sdk {value}"))?))
    }

    /// The SDK of the checkout this weft was built from, when it is still there.
    pub fn of_this_build() -> Option<Sdk> {
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk");
        sdk.join("Cargo.toml").exists().then(|| sdk.canonicalize().ok().map(Sdk::Path)).flatten()
    }

    /// The dependency's value in Cargo.toml.
    fn dependency(&self) -> String {
        let quoted = |s: &str| toml_string(s);
        match self {
            Sdk::Path(path) => format!("{{ path = {} }}", quoted(&path.display().to_string())),
            Sdk::Git(url) => format!("{{ git = {} }}", quoted(url)),
        }
    }
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What to create.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub name: String,
    pub kind: Kind,
    pub language: Language,
    /// The project's folder: created, or empty.
    pub dir: PathBuf,
    /// Where a Rust project's weft-sdk comes from (required for Rust).
    pub sdk: Option<Sdk>,
}

/// Write the project; the files written, relative to its folder.
pub fn create(project: &NewProject) -> Result<Vec<PathBuf>> {
    weft_core::plugin::check_name("a plugin name", &project.name, false).map_err(anyhow::Error::msg)?;
    let dir = &project.dir;
    if dir.exists() {
        if !dir.is_dir() {
            bail!("{} exists and is not a folder", dir.display());
        }
        if std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.next().is_some() {
            bail!("{} already exists and is not empty: choose another folder with --dir, or remove it", dir.display());
        }
    }
    let sdk = match (project.language, &project.sdk) {
        (Language::Rust, Some(sdk)) => sdk.dependency(),
        (Language::Rust, None) => bail!(
            "a Rust plugin depends on weft-sdk, which is not published on crates.io: name it with --sdk \
             (the path of a weft checkout's sdk/ folder, or a git URL of weft's repository), or set WEFT_SDK_PATH"
        ),
        _ => String::new(),
    };
    let fill = |text: &str| {
        text.replace("{{name}}", &project.name)
            .replace("{{sdk}}", &sdk)
            .replace("{{componentize_js}}", super::COMPONENTIZE_JS_VERSION)
            .replace("{{componentize_py}}", super::COMPONENTIZE_PY_VERSION)
    };
    let lang = project.language.folder();
    let prefixes = [format!("{lang}/common/"), format!("{lang}/{}/", project.kind.folder())];
    let files: Vec<(PathBuf, String)> = TEMPLATES
        .iter()
        .filter_map(|(path, text)| {
            let rest = prefixes.iter().find_map(|p| path.strip_prefix(p.as_str()))?;
            Some((PathBuf::from(rest.replace("__name__", &project.name)), fill(text)))
        })
        .collect();
    if files.is_empty() {
        bail!("this weft has no {} {} template", project.language.label(), project.kind.folder());
    }
    let mut written = Vec::new();
    for (relative, text) in files {
        let path = dir.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(relative);
    }
    if project.language != Language::Rust {
        for file in super::write_wit(&dir.join("wit")).with_context(|| format!("writing {}/wit", dir.display()))? {
            written.push(file.strip_prefix(dir).unwrap_or(&file).to_path_buf());
        }
    }
    written.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(language: Language, kind: Kind, dir: &Path) -> NewProject {
        NewProject {
            name: "acme-crm".into(),
            kind,
            language,
            dir: dir.to_path_buf(),
            sdk: Some(Sdk::Git("https://example.com/weft.git".into())),
        }
    }

    #[test]
    fn every_template_is_complete() {
        for language in [Language::Rust, Language::Js, Language::Python] {
            for kind in [Kind::Connector, Kind::Transform] {
                let dir = tempfile::tempdir().unwrap();
                let files = create(&project(language, kind, dir.path())).unwrap();
                let fixture = match kind {
                    Kind::Connector => "tests/get-item.yaml",
                    Kind::Transform => "tests/acme-crm.yaml",
                };
                for wanted in ["README.md", ".gitignore", fixture] {
                    assert!(
                        files.iter().any(|f| f == Path::new(wanted)),
                        "{language:?} {kind:?}: no {wanted} in {files:?}"
                    );
                }
                if language != Language::Rust {
                    assert!(files.iter().any(|f| f == Path::new("weft.toml")), "{language:?}: {files:?}");
                    assert!(dir.path().join("wit/plugin.wit").exists());
                    assert!(dir.path().join("wit/deps/http@0.2.12/http.wit").exists());
                }
                for file in &files {
                    let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
                    assert!(!text.contains("{{"), "{language:?} {kind:?}: {} keeps a placeholder", file.display());
                    assert!(!file.to_string_lossy().contains("__name__"));
                }
                let readme = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
                assert!(readme.starts_with("# acme-crm\n"), "{readme}");
            }
        }
    }

    #[test]
    fn a_rust_project_names_its_sdk() {
        let dir = tempfile::tempdir().unwrap();
        create(&project(Language::Rust, Kind::Connector, dir.path())).unwrap();
        let cargo = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        assert!(cargo.contains("weft-sdk = { git = \"https://example.com/weft.git\" }"), "{cargo}");
        assert!(cargo.contains("name = \"acme-crm\""));

        let mut no_sdk = project(Language::Rust, Kind::Connector, &dir.path().join("other"));
        no_sdk.sdk = None;
        let err = create(&no_sdk).unwrap_err().to_string();
        assert!(err.contains("weft-sdk, which is not published on crates.io"), "{err}");

        let sdk = Sdk::parse(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).unwrap();
        let Sdk::Path(path) = &sdk else { panic!("{sdk:?}") };
        assert!(path.ends_with("sdk"), "a checkout's folder means its sdk/: {path:?}");
        assert!(Sdk::parse("/nowhere").unwrap_err().to_string().contains("weft checkout's sdk/ folder"));
    }

    #[test]
    fn refuses_a_folder_in_use_and_a_bad_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let err = create(&project(Language::Js, Kind::Connector, dir.path())).unwrap_err().to_string();
        assert!(err.contains("already exists and is not empty"), "{err}");
        assert_eq!(std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(), "mine");

        let mut bad = project(Language::Js, Kind::Connector, &dir.path().join("x"));
        bad.name = "Acme CRM".into();
        let err = create(&bad).unwrap_err().to_string();
        assert!(err.contains("must be 1 to 64 characters of [a-z0-9-]"), "{err}");
    }

    /// The Python connector test component (tests/polyglot) uses the template's HTTP helper.
    #[test]
    fn the_python_http_helper_is_the_tested_one() {
        let template = TEMPLATES.iter().find(|(p, _)| *p == "python/connector/weft_http.py").unwrap().1;
        let tested = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/polyglot/python/records/weft_http.py");
        assert_eq!(
            std::fs::read_to_string(&tested).unwrap(),
            template,
            "{} must be a copy of host/cli/templates/python/connector/weft_http.py",
            tested.display()
        );
    }
}
