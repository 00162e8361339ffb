//! What the plugin knows of PipeWire's graph, from its registry and the `default` metadata:
//! enough to link a source's port into the plugin's own node. Pure, so the choice of port is
//! tested without a server.

use std::collections::HashMap;

pub use onrecord_pw::{Node, Port, json_name};

/// What a side captures, as the graph names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// The default source, or with `monitor` what the default sink plays.
    Default { monitor: bool },
    /// A node by `node.name` (a sink is captured as its monitor).
    Name(String),
    /// A node by `object.serial` (a source, or an application's stream).
    Serial(u64),
    /// The newest playback stream of the application (`application.name`): what it plays,
    /// followed when it replaces the stream.
    AppStream(String),
    /// What the application (`application.name`) reads as its microphone: the node linked
    /// into its newest capture stream; while it reads nothing (no capture stream, or one not
    /// linked yet), what `otherwise` names.
    AppSource { app: String, otherwise: Box<Want> },
}

#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: HashMap<u32, Node>,
    pub ports: HashMap<u32, Port>,
    /// Link id to (output port, input port).
    pub links: HashMap<u32, (u32, u32)>,
    pub default_source: Option<String>,
    pub default_sink: Option<String>,
    /// The graph's rate (`default.clock.rate`), once the server said it.
    pub clock_rate: Option<u32>,
}

impl Graph {
    fn node_named(&self, name: &str) -> Option<u32> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.name == name)
            .max_by_key(|(_, n)| n.serial)
            .map(|(id, _)| *id)
    }

    /// The node `want` names now.
    pub fn node(&self, want: &Want) -> Option<u32> {
        match want {
            Want::Default { monitor: true } => self.node_named(self.default_sink.as_deref()?),
            Want::Default { monitor: false } => self.node_named(self.default_source.as_deref()?),
            Want::Name(name) => self.node_named(name),
            Want::Serial(serial) => self
                .nodes
                .iter()
                .find(|(_, n)| n.serial == *serial)
                .map(|(id, _)| *id),
            Want::AppStream(app) => self
                .nodes
                .iter()
                .filter(|(_, n)| n.app == *app && n.class == "Stream/Output/Audio")
                .max_by_key(|(_, n)| n.serial)
                .map(|(id, _)| *id),
            Want::AppSource { app, otherwise } => {
                self.app_source(app).or_else(|| self.node(otherwise))
            }
        }
    }

    /// The node the newest linked capture stream of application `app` reads from (the
    /// newest such node, when it reads several).
    pub fn app_source(&self, app: &str) -> Option<u32> {
        let feeds = |stream: u32| {
            self.links
                .values()
                .filter(move |(_, inn)| self.ports.get(inn).is_some_and(|p| p.node == stream))
                .filter_map(|(out, _)| Some(self.ports.get(out)?.node))
                .filter(|n| self.nodes.contains_key(n))
                .max_by_key(|n| self.nodes[n].serial)
        };
        self.nodes
            .iter()
            .filter(|(_, n)| n.app == app && n.class == "Stream/Input/Audio")
            .filter_map(|(id, n)| Some((n.serial, feeds(*id)?)))
            .max_by_key(|(serial, _)| *serial)
            .map(|(_, source)| source)
    }

    /// Whether a side that follows `want` and reads `source` now should read another node:
    /// the default moved, the application has a newer stream, or it reads another source. (A
    /// stream between two sources moves nothing: it is about to be linked again.)
    pub fn moved(&self, want: &Want, source: u32) -> bool {
        let now = match want {
            Want::Default { .. } | Want::AppStream(_) => self.node(want),
            Want::AppSource { app, .. } => self.app_source(app),
            Want::Name(_) | Want::Serial(_) => None,
        };
        now.is_some_and(|n| n != source)
    }

    /// The output port of `node` a side takes its audio from: a sink's monitor, else its
    /// capture or output; mono, else front left (one channel: two linked into one port would
    /// add up).
    pub fn source_port(&self, node: u32) -> Option<u32> {
        let sink = self
            .nodes
            .get(&node)
            .is_some_and(|n| n.class.starts_with("Audio/Sink"));
        let mut outs: Vec<(u32, &str)> = self
            .ports
            .iter()
            .filter(|(_, p)| p.node == node && p.output)
            .filter(|(_, p)| p.name.starts_with("monitor_") == sink)
            .map(|(id, p)| (*id, p.name.as_str()))
            .collect();
        outs.sort_unstable();
        ["MONO", "FL", "1", "AUX0"]
            .iter()
            .find_map(|ch| outs.iter().find(|(_, n)| n.ends_with(&format!("_{ch}"))))
            .or_else(|| outs.first())
            .map(|(id, _)| *id)
    }

    /// Our port `name` on node `node`, once the registry has it.
    pub fn input_port(&self, node: u32, name: &str) -> Option<u32> {
        self.ports
            .iter()
            .find(|(_, p)| p.node == node && !p.output && p.name == name)
            .map(|(id, _)| *id)
    }

    /// The link from `out` to `inn`, once the registry has it.
    pub fn link(&self, out: u32, inn: u32) -> Option<u32> {
        self.links
            .iter()
            .find(|(_, l)| **l == (out, inn))
            .map(|(id, _)| *id)
    }

    pub fn remove(&mut self, id: u32) {
        self.nodes.remove(&id);
        self.ports.remove(&id);
        self.links.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> Graph {
        let mut g = Graph::default();
        let node = node_named;
        g.nodes.insert(10, node("speakers", 100, "Audio/Sink"));
        g.nodes.insert(20, node("headset", 200, "Audio/Source"));
        g.nodes
            .insert(30, node("Linphone", 300, "Stream/Output/Audio"));
        for (id, node, output, name) in [
            (11, 10, false, "playback_FL"),
            (12, 10, true, "monitor_FR"),
            (13, 10, true, "monitor_FL"),
            (21, 20, true, "capture_FR"),
            (22, 20, true, "capture_FL"),
            (31, 30, true, "output_MONO"),
        ] {
            g.ports.insert(
                id,
                Port {
                    node,
                    output,
                    name: name.into(),
                },
            );
        }
        g
    }

    #[test]
    fn a_side_takes_one_channel_a_sink_its_monitor() {
        let mut g = graph();
        assert_eq!(g.source_port(10), Some(13));
        assert_eq!(g.source_port(20), Some(22));
        assert_eq!(g.source_port(30), Some(31));
        assert_eq!(g.source_port(99), None);
        assert_eq!(g.node(&Want::Default { monitor: true }), None);
        g.default_sink = Some("speakers".into());
        g.default_source = Some("headset".into());
        assert_eq!(g.node(&Want::Default { monitor: true }), Some(10));
        assert_eq!(g.node(&Want::Default { monitor: false }), Some(20));
        assert_eq!(g.node(&Want::Serial(300)), Some(30));
        assert_eq!(g.node(&Want::Name("headset".into())), Some(20));
    }

    #[test]
    fn ports_and_links_are_found_once_the_registry_has_them() {
        let mut g = graph();
        g.nodes.insert(40, Node::default());
        g.ports.insert(
            41,
            Port {
                node: 40,
                output: false,
                name: "side_0".into(),
            },
        );
        assert_eq!(g.input_port(40, "side_0"), Some(41));
        assert_eq!(g.input_port(40, "side_1"), None);
        g.links.insert(50, (22, 41));
        assert_eq!(g.link(22, 41), Some(50));
        g.remove(50);
        assert_eq!(g.link(22, 41), None);
    }

    #[test]
    fn an_applications_microphone_and_playback_are_found_and_followed() {
        let mut g = graph();
        let stream = |serial| Node {
            name: "Linphone-capture".into(),
            serial,
            class: "Stream/Input/Audio".into(),
            app: "Linphone".into(),
            ..Node::default()
        };
        let want = Want::AppSource {
            app: "Linphone".into(),
            otherwise: Box::new(Want::Default { monitor: false }),
        };
        g.default_source = Some("headset".into());
        g.nodes.insert(60, node_named("mic", 600, "Audio/Source"));
        g.ports.insert(61, out_port(60, "capture_MONO"));
        // No capture stream yet: what it otherwise reads, and nothing to move to.
        assert_eq!(g.node(&want), Some(20));
        assert!(!g.moved(&want, 20));
        // Its capture stream, not linked yet: still that.
        g.nodes.insert(70, stream(700));
        g.ports.insert(71, in_port(70, "input_MONO"));
        assert_eq!(g.node(&want), Some(20));
        // Linked from the microphone: that, and a side on the headset moves.
        g.links.insert(80, (61, 71));
        assert_eq!(g.app_source("Linphone"), Some(60));
        assert_eq!(g.node(&want), Some(60));
        assert!(g.moved(&want, 20) && !g.moved(&want, 60));
        // Unlinked on its way to another source: no move until it reads one.
        g.remove(80);
        assert!(!g.moved(&want, 60));
        g.links.insert(81, (22, 71));
        assert_eq!(g.node(&want), Some(20));
        assert!(g.moved(&want, 60));
        // Another application's stream, or a playback stream of this one, is not it.
        g.nodes.insert(
            90,
            Node {
                app: "Firefox".into(),
                ..stream(900)
            },
        );
        g.ports.insert(91, in_port(90, "input_MONO"));
        g.links.insert(92, (61, 91));
        assert_eq!(g.node(&want), Some(20));
        // A newer capture stream of the application is the one that counts.
        g.nodes.insert(100, stream(1000));
        g.ports.insert(101, in_port(100, "input_MONO"));
        g.links.insert(102, (61, 101));
        assert_eq!(g.node(&want), Some(60));
        // Otherwise another: that, while the application reads nothing.
        let named = Want::AppSource {
            app: "Skype".into(),
            otherwise: Box::new(Want::Name("mic".into())),
        };
        assert_eq!(g.node(&named), Some(60));
        assert!(!g.moved(&named, 60) && !g.moved(&named, 20));
        // The application's newest playback stream, and a newer one it replaces it with.
        let plays = Want::AppStream("Linphone".into());
        assert_eq!(g.node(&plays), None);
        let playback = |serial| Node {
            class: "Stream/Output/Audio".into(),
            ..stream(serial)
        };
        g.nodes.insert(110, playback(1100));
        assert_eq!(g.node(&plays), Some(110));
        assert!(!g.moved(&plays, 110));
        g.nodes.insert(120, playback(1200));
        assert!(g.moved(&plays, 110) && !g.moved(&plays, 120));
        // Gone, with none in its place: nothing to move to.
        g.remove(110);
        g.remove(120);
        assert!(!g.moved(&plays, 120));
        // A name or a serial never moves.
        assert!(!g.moved(&Want::Name("headset".into()), 60));
        assert!(!g.moved(&Want::Serial(200), 60));
    }

    fn node_named(name: &str, serial: u64, class: &str) -> Node {
        Node {
            name: name.into(),
            serial,
            class: class.into(),
            ..Node::default()
        }
    }

    fn out_port(node: u32, name: &str) -> Port {
        Port {
            node,
            output: true,
            name: name.into(),
        }
    }

    fn in_port(node: u32, name: &str) -> Port {
        Port {
            node,
            output: false,
            name: name.into(),
        }
    }
}
