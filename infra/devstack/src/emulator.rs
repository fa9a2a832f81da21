//! Starting and stopping the emulator process.

use crate::DevstackError;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Generous: replaying a long-lived devstack state file takes a while.
const START_TIMEOUT: Duration = Duration::from_secs(300);

/// A running emulator. Dropping it stops the process; the process also stops
/// by itself when its parent exits.
pub struct Emulator {
    child: Child,
    endpoint: String,
}

impl Emulator {
    /// Starts `infra/emulator.py` from the project's virtualenv on
    /// 127.0.0.1:`port` (0 picks a free port) and waits until it listens.
    /// Its own output goes to `log` (or nowhere). With a `state_file`, the
    /// emulator replays the changes recorded there and records new ones, so
    /// data survives a restart.
    pub fn start(root: &Path, port: u16, log: Option<&Path>, state_file: Option<&Path>) -> Result<Self, DevstackError> {
        let python = root.join(".venv/bin/python");
        if !python.exists() {
            return Err(DevstackError::MissingVenv(python));
        }
        let stderr = match log {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| DevstackError::EmulatorStart(e.to_string()))?;
                }
                Stdio::from(std::fs::File::create(path).map_err(|e| DevstackError::EmulatorStart(e.to_string()))?)
            }
            None => Stdio::null(),
        };
        let mut command = Command::new(&python);
        command
            .arg(root.join("infra/emulator.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--parent-pid", &std::process::id().to_string()]);
        if let Some(state_file) = state_file {
            command.arg("--state-file").arg(state_file);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| DevstackError::EmulatorStart(format!("{}: {e}", python.display())))?;

        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                return Err(DevstackError::EmulatorStart("it did not start within 5 minutes".into()));
            }
        };
        let Some(address) = line.trim().strip_prefix("listening on ") else {
            let status = child.wait().ok().and_then(|s| s.code());
            let hint = match (status, log) {
                (Some(2), _) if port != 0 => format!(" (port {port} is in use: set EMULATOR_PORT to another port)"),
                (_, Some(log)) => format!(" (its output is in {})", log.display()),
                _ => String::new(),
            };
            return Err(DevstackError::EmulatorStart(format!("it exited with {status:?}{hint}")));
        };
        Ok(Self {
            child,
            endpoint: format!("http://{address}"),
        })
    }

    /// e.g. `http://127.0.0.1:4566`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_recording_with_two_records_on_one_row_still_restores() {
        let root = crate::project_root();
        let dir = std::env::temp_dir().join(format!("cc-emulator-state-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let state = dir.join("state.jsonl");
        let queues = |endpoint: String| async move { aws_sdk_sqs::Client::new(&crate::sdk_config(&endpoint).await) };
        {
            let emulator = Emulator::start(&root, 0, None, Some(&state)).unwrap();
            let sqs = queues(emulator.endpoint().to_string()).await;
            for name in ["first", "second", "third"] {
                sqs.create_queue().queue_name(name).send().await.unwrap();
            }
        }
        // Two records on one row and an empty row, as two threads recording at
        // once used to leave them.
        let text = std::fs::read_to_string(&state).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows.len() >= 3, "{rows:?}");
        let merged = format!("{}{}\n\n{}\n", rows[0], rows[1], rows[2..].join("\n"));
        std::fs::write(&state, merged).unwrap();

        let emulator = Emulator::start(&root, 0, None, Some(&state)).unwrap();
        let sqs = queues(emulator.endpoint().to_string()).await;
        let listed = sqs.list_queues().send().await.unwrap();
        let mut names: Vec<String> = listed
            .queue_urls()
            .iter()
            .filter_map(|url| url.rsplit('/').next().map(str::to_string))
            .collect();
        names.sort();
        assert_eq!(names, ["first", "second", "third"]);
        drop(emulator);
        let _ = std::fs::remove_dir_all(dir);
    }
}
