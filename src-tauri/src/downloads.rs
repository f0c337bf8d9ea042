//! Where the files the interface saves go (exports, error files, access packs, which the
//! window offers as downloads): the merchant's Downloads folder — or `COMPTOIR_DOWNLOADS`
//! when set (the end-to-end tests) — never the app's working folder, and under a name that
//! never overwrites a file already there (`clients (2).csv`).
//!
//! Only downloads of what the page made (`blob:` URLs) are accepted. The main window is built
//! here (from its entry in tauri.conf.json, which does not create it) with this handler.

use std::path::{Path, PathBuf};
use tauri::webview::DownloadEvent;
use tauri::{App, Manager, WebviewWindowBuilder};

/// The folder saved files go to; created when missing.
fn folder(app: &tauri::AppHandle) -> Option<PathBuf> {
    let dir = std::env::var_os("COMPTOIR_DOWNLOADS")
        .map(PathBuf::from)
        .or_else(|| app.path().download_dir().ok())
        .or_else(|| app.path().home_dir().ok())?;
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// A path in `dir` for `name` that no file uses yet: the name itself, then "name (2).ext"…
pub fn unique(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    (2..10_000).map(|n| dir.join(format!("{stem} ({n}){ext}"))).find(|p| !p.exists()).unwrap_or(first)
}

/// Build the main window with the download handler.
pub fn main_window(app: &App) -> tauri::Result<()> {
    let Some(config) = app.config().app.windows.iter().find(|w| w.label == "main").cloned() else {
        return Ok(());
    };
    let handle = app.handle().clone();
    WebviewWindowBuilder::from_config(app.handle(), &config)?
        .on_download(move |_webview, event| {
            match event {
                DownloadEvent::Requested { destination, url } => {
                    // Only what the page itself made (a blob of bytes the core returned).
                    if url.scheme() != "blob" {
                        tracing::warn!(%url, "download refused: not a file the window made");
                        return false;
                    }
                    let name = destination
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "comptoir".into());
                    match folder(&handle) {
                        Some(dir) => *destination = unique(&dir, &name),
                        None => tracing::warn!(%url, "no Downloads folder: the file goes where the system puts it"),
                    }
                    tracing::info!(path = %destination.display(), "saving a file");
                }
                DownloadEvent::Finished { path, success, .. } => {
                    tracing::info!(path = ?path, success, "file saved");
                }
                _ => {}
            }
            true
        })
        .build()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::unique;

    #[test]
    fn a_saved_file_never_overwrites_one_already_there() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unique(dir.path(), "clients.csv"), dir.path().join("clients.csv"), "a free name is kept");
        std::fs::write(dir.path().join("clients.csv"), "a").unwrap();
        assert_eq!(unique(dir.path(), "clients.csv"), dir.path().join("clients (2).csv"), "a taken name gets a number");
        std::fs::write(dir.path().join("clients (2).csv"), "b").unwrap();
        assert_eq!(unique(dir.path(), "clients.csv"), dir.path().join("clients (3).csv"));
        std::fs::write(dir.path().join("LISEZMOI"), "c").unwrap();
        assert_eq!(unique(dir.path(), "LISEZMOI"), dir.path().join("LISEZMOI (2)"), "a name without extension");
        std::fs::write(dir.path().join(".cache"), "d").unwrap();
        assert_eq!(
            unique(dir.path(), ".cache"),
            dir.path().join(".cache (2)"),
            "a dot file is a stem, not an extension"
        );
    }
}
