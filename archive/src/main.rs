//! `onrecord-archive`: the archive's helper. Reads one request (JSON, `call::Request`) on its
//! standard input, does it (requests to the storage), and writes one reply (JSON,
//! `call::Reply`) on its standard output. The daemon starts it for each attempt; the
//! credentials travel on the pipe, never on the command line or in the environment.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("onrecord-archive: cannot read the request: {e}");
        return ExitCode::from(2);
    }
    let request: onrecord_archive::call::Request = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("onrecord-archive: not a request ({e}); it is started by onrecordd");
            return ExitCode::from(2);
        }
    };
    let reply = onrecord_archive::call::serve(request);
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer(&mut out, &reply)
        .map_err(std::io::Error::from)
        .and_then(|()| out.flush());
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onrecord-archive: cannot write the reply: {e}");
            ExitCode::from(1)
        }
    }
}
