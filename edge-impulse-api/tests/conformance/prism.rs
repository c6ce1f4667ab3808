//! Starting and stopping the Stoplight Prism mock server.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Prism may take to read the spec and listen.
const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers built from the spec's examples, else from the schemas, the same every time.
    Static,
    /// Random answers valid against the schemas, repeatable for one seed.
    Dynamic { seed: u64 },
}

impl Mode {
    pub fn label(self) -> String {
        match self {
            Mode::Static => "static".into(),
            Mode::Dynamic { seed } => format!("dynamic (seed {seed})"),
        }
    }

    fn file_label(self) -> &'static str {
        match self {
            Mode::Static => "static",
            Mode::Dynamic { .. } => "dynamic",
        }
    }
}

/// A running Prism; killed when dropped, also when a panic unwinds.
pub struct Prism {
    child: Child,
    pub address: SocketAddr,
    pub log: PathBuf,
}

impl Prism {
    pub fn start(prism: &Path, spec: &Path, mode: Mode, log_dir: &Path) -> Result<Prism, String> {
        let port = free_port()?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        std::fs::create_dir_all(log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
        let log = log_dir.join(format!("prism-{}.log", mode.file_label()));
        let log_file = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let log_err = log_file.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let mut command = Command::new(prism);
        command.arg("mock").arg("-h").arg("127.0.0.1").arg("-p").arg(port.to_string());
        if let Mode::Dynamic { seed } = mode {
            command.arg("-d").arg("--seed").arg(seed.to_string());
        }
        command.arg(spec).stdin(Stdio::null()).stdout(log_file).stderr(log_err);
        let child = command.spawn().map_err(|e| format!("starting {}: {e}", prism.display()))?;
        let mut prism = Prism { child, address, log };
        prism.wait_until_listening()?;
        Ok(prism)
    }

    fn wait_until_listening(&mut self) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("Prism exited ({status}) before listening; its log:\n{}", self.log_tail()));
            }
            if TcpStream::connect_timeout(&self.address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(format!("Prism did not listen on {} within {START_TIMEOUT:?}; its log:\n{}", self.address, self.log_tail()))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (the OS picks it).
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("finding a free port: {e}"))
}
