//! `onrecord-mic`: the virtual microphone (see the library) on stdin and stdout, and its
//! one-shot modes `--record` and `--restore-default`, which the daemon runs as a process.

fn main() {
    let args = match onrecord_mic::args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("onrecord-mic: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = onrecord_mic::run(args, std::io::BufReader::new(std::io::stdin())) {
        onrecord_mic::say(&format!("fatal {e}"));
        eprintln!("onrecord-mic: {e}");
        std::process::exit(1);
    }
}
