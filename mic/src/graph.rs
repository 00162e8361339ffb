//! What the helper knows of PipeWire's graph, from registry events: nodes, ports and links,
//! and the default devices from the `default` metadata. Pure: the choices of what to link are
//! here, tested without a server.

use std::collections::BTreeMap;

pub use onrecord_pw::{Node, Port, json_for, json_name};

#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: BTreeMap<u32, Node>,
    pub ports: BTreeMap<u32, Port>,
    /// Link id to (output node, input node).
    pub links: BTreeMap<u32, (u32, u32)>,
    /// The `default` metadata's keys for subject 0 (the whole graph), as JSON values.
    pub defaults: BTreeMap<String, String>,
}

impl Graph {
    pub fn node_named(&self, name: &str) -> Option<u32> {
        self.nodes
            .iter()
            .find(|(_, n)| n.name == name)
            .map(|(id, _)| *id)
    }

    /// A node's ports of one direction, in the order they were made.
    pub fn ports_of(&self, node: u32, output: bool) -> Vec<(u32, &str)> {
        self.ports
            .iter()
            .filter(|(_, p)| p.node == node && p.output == output)
            .map(|(id, p)| (*id, p.name.as_str()))
            .collect()
    }

    pub fn port_named(&self, node: u32, output: bool, name: &str) -> Option<u32> {
        self.ports_of(node, output)
            .into_iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id)
    }

    /// The port a microphone's voice is taken from: its mono or front-left capture port
    /// (one channel: linking both channels of a stereo microphone into a mono one would
    /// double its level), else its first output that is not a monitor.
    pub fn voice_port(&self, node: u32) -> Option<u32> {
        let outs = self.ports_of(node, true);
        ["capture_MONO", "capture_FL", "capture_1"]
            .iter()
            .find_map(|want| outs.iter().find(|(_, n)| n == want))
            .or_else(|| outs.iter().find(|(_, n)| !n.starts_with("monitor")))
            .map(|(id, _)| *id)
    }

    /// The microphone to carry: the default source, unless that is the virtual microphone
    /// itself (once it is made the default).
    pub fn microphone(&self, ours: &str) -> Option<String> {
        self.defaults
            .get("default.audio.source")
            .and_then(|v| json_name(v))
            .filter(|n| n != ours)
    }

    /// The microphone to carry when the default names none (there is no default yet, or the
    /// session manager chose the virtual microphone itself, as it may where no other source
    /// has a session priority) and nothing is carried yet: the source, other than ours, the
    /// session manager ranks first (the oldest of equals). Without it the virtual microphone
    /// would carry nothing, and a softphone moved onto it would send silence.
    pub fn fallback_microphone(&self, ours: &str) -> Option<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.class.starts_with("Audio/Source") && n.name != ours)
            .max_by_key(|(id, n)| (n.priority, std::cmp::Reverse(**id)))
            .map(|(_, n)| n.name.clone())
    }

    /// `app`'s capture streams (what it reads its microphone with), each with the source it
    /// reads now (`None` once it reads the node `ours` or nothing).
    pub fn captures_of(&self, app: &str, ours: u32) -> Vec<(u32, Option<String>)> {
        let mut out: Vec<(u32, Option<String>)> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.app == app && n.class == "Stream/Input/Audio")
            .map(|(id, _)| {
                let source = self
                    .links
                    .values()
                    .find(|&&(_, inn)| inn == *id)
                    .map(|&(out, _)| out)
                    .filter(|&out| out != ours)
                    .and_then(|out| self.nodes.get(&out))
                    .map(|n| n.name.clone());
                (*id, source)
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// The default sink's input ports: where the user hears the quiet copy.
    pub fn speaker_ports(&self) -> Vec<(u32, u32)> {
        let Some(sink) = self
            .defaults
            .get("default.audio.sink")
            .and_then(|v| json_name(v))
            .and_then(|n| self.node_named(&n))
        else {
            return Vec::new();
        };
        self.ports_of(sink, false)
            .into_iter()
            .filter(|(_, n)| n.starts_with("playback_"))
            .map(|(p, _)| (sink, p))
            .collect()
    }

    /// Whether anything but onrecord reads `node`: a softphone that would send what plays
    /// into it.
    pub fn has_listener(&self, node: u32) -> bool {
        self.links.values().any(|&(out, inn)| {
            out == node
                && self
                    .nodes
                    .get(&inn)
                    .is_some_and(|n| !n.name.to_ascii_lowercase().starts_with("onrecord"))
        })
    }

    /// Forgets a global that went away.
    pub fn remove(&mut self, id: u32) {
        self.nodes.remove(&id);
        self.ports.remove(&id);
        self.links.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NAME;

    #[test]
    fn without_a_default_the_source_ranked_first_is_carried_never_ours() {
        let mut g = Graph::default();
        assert_eq!(g.fallback_microphone(NAME), None);
        for (id, name, class, priority) in [
            (10, NAME, "Audio/Source/Virtual", 1),
            (20, "far_side", "Audio/Sink", 3000),
            (30, "mic", "Audio/Source", 0),
            (40, "headset", "Audio/Source", 0),
        ] {
            g.nodes.insert(
                id,
                Node {
                    name: name.into(),
                    class: class.into(),
                    priority,
                    ..Node::default()
                },
            );
        }
        // Ours ranks above the others, but is never carried; of equals, the oldest.
        assert_eq!(g.fallback_microphone(NAME).as_deref(), Some("mic"));
        g.nodes.get_mut(&40).unwrap().priority = 2000;
        assert_eq!(g.fallback_microphone(NAME).as_deref(), Some("headset"));
        // The session manager's choice, when it is not ours, comes first.
        g.defaults
            .insert("default.audio.source".into(), json_for(NAME));
        assert_eq!(g.microphone(NAME), None);
        g.defaults
            .insert("default.audio.source".into(), json_for("mic"));
        assert_eq!(g.microphone(NAME).as_deref(), Some("mic"));
    }

    fn node(g: &mut Graph, id: u32, name: &str) {
        g.nodes.insert(
            id,
            Node {
                name: name.into(),
                ..Node::default()
            },
        );
    }

    fn port(g: &mut Graph, id: u32, node: u32, output: bool, name: &str) {
        g.ports.insert(
            id,
            Port {
                node,
                output,
                name: name.into(),
            },
        );
    }

    #[test]
    fn the_voice_is_one_channel_of_the_default_source_never_ours() {
        let mut g = Graph::default();
        node(&mut g, 10, "headset");
        port(&mut g, 11, 10, true, "monitor_FL");
        port(&mut g, 12, 10, true, "capture_FR");
        port(&mut g, 13, 10, true, "capture_FL");
        assert_eq!(g.voice_port(10), Some(13));
        node(&mut g, 20, "odd");
        port(&mut g, 21, 20, true, "monitor_MONO");
        port(&mut g, 22, 20, true, "out_0");
        assert_eq!(g.voice_port(20), Some(22));
        assert_eq!(g.voice_port(99), None);

        g.defaults
            .insert("default.audio.source".into(), json_for("onrecord_mic"));
        assert_eq!(g.microphone("onrecord_mic"), None);
        g.defaults
            .insert("default.audio.source".into(), json_for("headset"));
        assert_eq!(g.microphone("onrecord_mic").as_deref(), Some("headset"));
    }

    #[test]
    fn a_listener_is_anything_but_onrecord() {
        let mut g = Graph::default();
        node(&mut g, 1, "onrecord_mic");
        node(&mut g, 2, "onrecord");
        node(&mut g, 3, "Linphone");
        g.links.insert(100, (1, 2));
        assert!(!g.has_listener(1));
        g.links.insert(101, (1, 3));
        assert!(g.has_listener(1));
        g.remove(101);
        assert!(!g.has_listener(1));
    }

    #[test]
    fn an_applications_capture_streams_are_found_with_what_they_read() {
        let mut g = Graph::default();
        node(&mut g, 1, "onrecord_mic");
        node(&mut g, 2, "headset");
        for (id, app, class) in [
            (10, "Linphone", "Stream/Input/Audio"),
            (11, "Linphone", "Stream/Output/Audio"),
            (12, "Music", "Stream/Input/Audio"),
            (13, "Linphone", "Stream/Input/Audio"),
        ] {
            g.nodes.insert(
                id,
                Node {
                    name: format!("n{id}"),
                    class: class.into(),
                    app: app.into(),
                    ..Node::default()
                },
            );
        }
        g.links.insert(100, (2, 10));
        g.links.insert(101, (1, 13));
        assert_eq!(
            g.captures_of("Linphone", 1),
            vec![(10, Some("headset".into())), (13, None)]
        );
        assert!(g.captures_of("Nobody", 1).is_empty());
    }

    #[test]
    fn the_quiet_copy_goes_to_every_playback_port_of_the_default_sink() {
        let mut g = Graph::default();
        node(&mut g, 5, "speakers");
        port(&mut g, 6, 5, false, "playback_FL");
        port(&mut g, 7, 5, false, "playback_FR");
        port(&mut g, 8, 5, true, "monitor_FL");
        assert!(g.speaker_ports().is_empty());
        g.defaults
            .insert("default.audio.sink".into(), json_for("speakers"));
        assert_eq!(g.speaker_ports(), vec![(5, 6), (5, 7)]);
    }
}
