//! Dev sign-in sessions that outlive a restart of the stack, as a real host backend's do.
//!
//! With a state directory (`STATE_DIR`), the session → user map is kept in
//! `STATE_DIR/sessions.json`: only a SHA-256 of each session id (the cookie value is never written
//! down, so the file does not hold usable cookies) and the user name. MQTT tokens are not kept: a
//! client that comes back after a restart asks for a new one with its cookie. The directory is
//! created 0700 and the file written 0600 (write to a temporary file, then rename). Each change
//! re-reads the file and applies only that change, so two stacks sharing a directory do not erase
//! each other's sessions. Deleting the directory signs everybody out.

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use sha2::Digest as _;

const FILE: &str = "sessions.json";

/// The key a session is stored under: SHA-256 of the cookie value, hex.
pub(crate) fn session_key(sid: &str) -> String {
    sha2::Sha256::digest(sid.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `STATE_DIR/sessions.json`.
#[derive(Debug)]
pub(crate) struct SessionFile {
    path: PathBuf,
}

impl SessionFile {
    /// Creates the directory (0700) when missing and reads the sessions kept there.
    pub(crate) fn open(dir: &Path) -> std::io::Result<(Self, HashMap<String, String>)> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        // An existing directory keeps its mode only if it is private already.
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let file = Self {
            path: dir.join(FILE),
        };
        let sessions = file.read();
        Ok((file, sessions))
    }

    fn read(&self) -> HashMap<String, String> {
        let Ok(text) = std::fs::read(&self.path) else {
            return HashMap::new();
        };
        match serde_json::from_slice::<serde_json::Value>(&text) {
            Ok(v) => v["sessions"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, u)| Some((k.clone(), u.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default(),
            Err(e) => {
                tracing::warn!(path = %self.path.display(), "ignoring an unreadable session file: {e}");
                HashMap::new()
            }
        }
    }

    /// Applies one change (`Some(user)`: add, `None`: remove) to the file.
    pub(crate) fn update(&self, key: &str, user: Option<&str>) {
        let mut sessions = self.read();
        match user {
            Some(u) => sessions.insert(key.to_owned(), u.to_owned()),
            None => sessions.remove(key),
        };
        if let Err(e) = self.write(&sessions) {
            tracing::warn!(path = %self.path.display(), "cannot save the dev sessions: {e}");
        }
    }

    fn write(&self, sessions: &HashMap<String, String>) -> std::io::Result<()> {
        let body = serde_json::json!({ "version": 1, "sessions": sessions });
        let tmp = self
            .path
            .with_file_name(format!("{FILE}.{}.tmp", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&body).expect("JSON values serialize"))?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_kept_hashed_in_a_private_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        let (file, sessions) = SessionFile::open(&dir).unwrap();
        assert!(sessions.is_empty());
        file.update(&session_key("sid-1"), Some("alice"));
        file.update(&session_key("sid-2"), Some("bob"));
        file.update(&session_key("sid-2"), None);
        let text = std::fs::read_to_string(dir.join(FILE)).unwrap();
        assert!(!text.contains("sid-1"), "{text}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(FILE)), 0o600);
        let (_, again) = SessionFile::open(&dir).unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!(again[&session_key("sid-1")], "alice");
    }
}
