//! A headless X server (Xvfb) for the desktop app's tests: it picks a free display itself
//! (`-displayfd`) and never resets (`-noreset`: otherwise the accessibility bus's launcher,
//! connecting and leaving, can make it reset under the app). Ended on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Display {
    /// `:N`, for `DISPLAY`.
    pub name: String,
    child: Child,
}

impl Display {
    /// Starts Xvfb with a 1024x768 screen; its log goes to `dir/xvfb.log`.
    pub fn start(dir: &Path) -> Display {
        let fd_file = dir.join("display");
        let log = std::fs::File::create(dir.join("xvfb.log")).unwrap();
        // Xvfb writes the display number to fd 3 once it accepts clients; the shell opens fd 3
        // on the file and becomes Xvfb (exec), so the child is the server.
        let child = Command::new("sh")
            .arg("-c")
            .arg("exec Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp -noreset 3>\"$1\"")
            .arg("sh")
            .arg(&fd_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sh");
        let deadline = Instant::now() + Duration::from_secs(20);
        let name = loop {
            let text = std::fs::read_to_string(&fd_file).unwrap_or_default();
            if text.ends_with('\n') {
                break format!(":{}", text.trim());
            }
            assert!(
                Instant::now() < deadline,
                "Xvfb did not start (make test installs xvfb): {}",
                std::fs::read_to_string(dir.join("xvfb.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Display { name, child }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
