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
    /// The CA boto3 is to trust (HTTPS).
    ca: Option<PathBuf>,
}

impl Moto {
    /// On `port`, its output in `log`; waits until it accepts connections.
    pub fn start(port: u16, log: &Path) -> Moto {
        Moto::serve(port, log, None)
    }

    /// Over HTTPS, with `cert` (a chain for 127.0.0.1) and `key`, signed by `ca`.
    pub fn start_tls(port: u16, log: &Path, ca: &Path, cert: &Path, key: &Path) -> Moto {
        Moto::serve(port, log, Some((ca, cert, key)))
    }

    fn serve(port: u16, log: &Path, tls: Option<(&Path, &Path, &Path)>) -> Moto {
        let mut cmd = Command::new(pyenv().join("moto_server"));
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        if let Some((_, cert, key)) = tls {
            cmd.arg("-c").arg(cert).arg("-k").arg(key);
        }
        let child = cmd
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
        let scheme = if tls.is_some() { "https" } else { "http" };
        Moto {
            child,
            endpoint: format!("{scheme}://127.0.0.1:{port}"),
            ca: tls.map(|(ca, _, _)| ca.to_owned()),
        }
    }

    /// boto3's answer to `s3.py ENDPOINT BUCKET ARGS...` (mkbucket, head KEY, delete KEY).
    pub fn boto(&self, bucket: &str, args: &[&str]) -> String {
        let out = Command::new(pyenv().join("python"))
            .args(["-W", "ignore"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("python/s3.py"))
            .args([self.endpoint.as_str(), bucket])
            .args(args)
            .envs(self.ca.iter().map(|ca| ("AWS_CA_BUNDLE", ca)))
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

/// A private CA and a certificate it signs for 127.0.0.1, made by the openssl program in
/// `dir`: (ca.pem, cert.pem, key.pem).
pub fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=onrecord test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "cert.csr",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "cert.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        "cert.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

/// s3s-fs (crates.io, built by scripts/tools.sh into target/tools), a second S3 server: unlike
/// moto it checks every request's signature, presigned ones included, against its one key
/// pair. No Object Lock. Ended on drop.
pub struct S3s {
    child: Child,
    pub endpoint: String,
}

impl S3s {
    /// With bucket `bucket`, its files under `dir`, its output in `log`, and the keys `keys`.
    pub fn start(dir: &Path, bucket: &str, keys: (&str, &str), log: &Path) -> S3s {
        std::fs::create_dir_all(dir.join(bucket)).unwrap();
        let port = free_port();
        let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools/bin/s3s-fs");
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", keys.0, "--secret-key", keys.1])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .expect("s3s-fs in target/tools (make test runs scripts/tools.sh)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "s3s-fs did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        S3s {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for S3s {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP relay in front of a server that can fail like it: after a given number of bytes
/// towards the server it drops every connection and stops listening (connections are refused:
/// the server is down, mid-upload), until `up`.
pub struct Outage {
    pub endpoint: String,
    shared: std::sync::Arc<Relay>,
}

struct Relay {
    port: u16,
    upstream: u16,
    /// Bytes still let through towards the server; at 0 or below the server is down.
    budget: std::sync::atomic::AtomicI64,
    /// Every socket open, to cut them all at once.
    open: std::sync::Mutex<Vec<std::net::TcpStream>>,
    stop: std::sync::atomic::AtomicBool,
}

impl Outage {
    /// Relays a free loopback port to `upstream` (a port on loopback); the server goes down
    /// after `budget` bytes towards it.
    pub fn start(upstream: u16, budget: i64) -> Outage {
        let port = free_port();
        let shared = std::sync::Arc::new(Relay {
            port,
            upstream,
            budget: budget.into(),
            open: Default::default(),
            stop: false.into(),
        });
        let relay = shared.clone();
        std::thread::spawn(move || relay.serve());
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the relay did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Outage {
            endpoint: format!("http://127.0.0.1:{port}"),
            shared,
        }
    }

    /// Whether the server went down.
    pub fn is_down(&self) -> bool {
        self.shared.budget.load(std::sync::atomic::Ordering::SeqCst) <= 0
    }

    /// The server is back, for good.
    pub fn up(&self) {
        self.shared
            .budget
            .store(i64::MAX, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shared.cut();
    }
}

impl Relay {
    fn down(&self) -> bool {
        self.budget.load(std::sync::atomic::Ordering::SeqCst) <= 0
    }

    fn cut(&self) {
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Listens while up; while down, nothing listens on the port.
    fn serve(self: std::sync::Arc<Self>) {
        use std::sync::atomic::Ordering;
        while !self.stop.load(Ordering::SeqCst) {
            if self.down() {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap();
            listener.set_nonblocking(true).unwrap();
            while !self.down() && !self.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", self.upstream))
                        else {
                            continue;
                        };
                        let mut open = self.open.lock().unwrap();
                        open.push(client.try_clone().unwrap());
                        open.push(server.try_clone().unwrap());
                        drop(open);
                        let (me, c, s) = (
                            self.clone(),
                            client.try_clone().unwrap(),
                            server.try_clone().unwrap(),
                        );
                        std::thread::spawn(move || me.pump(c, s, true));
                        let me = self.clone();
                        std::thread::spawn(move || me.pump(server, client, false));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
    }

    /// Copies `from` to `to`; towards the server, within the budget, and when it runs out the
    /// server is down: every connection is cut.
    fn pump(
        &self,
        mut from: std::net::TcpStream,
        mut to: std::net::TcpStream,
        towards_server: bool,
    ) {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if towards_server {
                let left = self.budget.fetch_sub(n as i64, Ordering::SeqCst);
                if left < n as i64 {
                    // Part of this read reaches the server, then it is gone.
                    let _ = to.write_all(&buf[..left.max(0) as usize]);
                    self.cut();
                    return;
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    }
}
