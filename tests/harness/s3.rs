//! A real local S3 server with Object Lock for the archive's tests (moto's server mode, from
//! target/pyenv, on loopback), and boto3 as the independent client that checks it
//! (`tests/python/s3.py`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn pyenv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin")
}

/// A free loopback port (for a server started later).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto's S3 server, ended on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// On `port`, its output in `log`; waits until it accepts connections.
    pub fn start(port: u16, log: &Path) -> Moto {
        let child = Command::new(pyenv().join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .expect("moto_server in target/pyenv (make test runs scripts/pyenv.sh)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// boto3's answer to `s3.py ENDPOINT BUCKET ARGS...` (mkbucket, head KEY, delete KEY).
    pub fn boto(&self, bucket: &str, args: &[&str]) -> String {
        let out = Command::new(pyenv().join("python"))
            .args(["-W", "ignore"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/s3.py"))
            .args([self.endpoint.as_str(), bucket])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "s3.py {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
