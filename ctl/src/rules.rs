//! `onrecordctl rules`: the rules per number of config.toml in force, and which one decides a
//! call.

use crate::fail::Fail;
use crate::laws::print_json;
use crate::text::emit;
use clap::Subcommand;
use onrecord_interface::{CallRule, RulesProxy};

#[derive(Subcommand, Debug)]
pub enum RulesCmd {
    /// Every rule in force, in order (the first that matches a call decides it).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Which rule decides a call with NUMBER, and why.
    Test {
        number: String,
        /// The application (or modem) the call is noticed in.
        #[arg(long, value_name = "NAME", default_value = "")]
        app: String,
        #[arg(long)]
        json: bool,
    },
}

fn describe(r: &CallRule) -> String {
    let mut what = Vec::new();
    if !r.number.is_empty() {
        what.push(format!("number {}", r.number));
    }
    if !r.application.is_empty() {
        what.push(format!("application {:?}", r.application));
    }
    let mut does = vec![r.action.clone()];
    if !r.label.is_empty() {
        does.push(format!("label {:?}", r.label));
    }
    if r.retention_days >= 0.0 {
        does.push(format!("audio kept {} days", r.retention_days));
    }
    if !r.storage.is_empty() {
        does.push(format!("stored by {}", r.storage));
    }
    let name = if r.name.is_empty() {
        String::new()
    } else {
        format!(" ({:?})", r.name)
    };
    format!(
        "{:>3}{name}: {} -> {}\n",
        r.index,
        what.join(" and "),
        does.join(", ")
    )
}

pub async fn run(conn: &zbus::Connection, cmd: RulesCmd) -> Result<(), Fail> {
    let rules = RulesProxy::builder(conn)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await?;
    match cmd {
        RulesCmd::List { json } => {
            let list = rules.list().await?;
            let error = rules.last_error().await?;
            if json {
                return print_json(&serde_json::json!({ "rules": list, "last_error": error }));
            }
            let mut o = if list.is_empty() {
                "No rules: every call onrecord notices is proposed. Add [[rule]] to config.toml.\n"
                    .to_owned()
            } else {
                list.iter().map(describe).collect()
            };
            if !error.is_empty() {
                o.push_str(&format!(
                    "The last change to the rules was refused (these stay in force): {error}\n"
                ));
            }
            emit(&o)
        }
        RulesCmd::Test { number, app, json } => {
            let found = rules.test(&number, &app).await?;
            if json {
                return print_json(&found);
            }
            let mut o = format!("{}: {} ({})\n", found.e164, found.action, found.why);
            if !found.label.is_empty() {
                o.push_str(&format!("label: {}\n", found.label));
            }
            emit(&o)
        }
    }
}
