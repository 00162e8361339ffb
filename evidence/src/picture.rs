//! A picture of the wait: the call as a bar over its length, coloured by what the far side was
//! doing, with the caller's key presses, the holds and the transfers marked, and the three
//! figures beside it. Inline SVG: no scripts, a legend in words, every stretch titled (a
//! screen reader and a printout both have it).

use onrecord_analysis::{Class, Summary, clock};

/// What the far side was doing, as the picture colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    Ringing,
    Menu,
    Music,
    Silence,
    Announcement,
    Tone,
    Live,
}

impl Doing {
    const ALL: [Doing; 7] = [
        Doing::Ringing,
        Doing::Menu,
        Doing::Music,
        Doing::Silence,
        Doing::Announcement,
        Doing::Tone,
        Doing::Live,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Doing::Ringing => "ringing",
            Doing::Menu => "menu",
            Doing::Music => "music",
            Doing::Silence => "silence",
            Doing::Announcement => "announcement",
            Doing::Tone => "tone",
            Doing::Live => "live agent",
        }
    }

    /// Colours that stay apart in grey when printed (lightness steps), on white.
    fn colour(self) -> &'static str {
        match self {
            Doing::Ringing => "#f2c14e",
            Doing::Menu => "#e07a5f",
            Doing::Music => "#3d5a80",
            Doing::Silence => "#d9d9d9",
            Doing::Announcement => "#98c1d9",
            Doing::Tone => "#8d6a9f",
            Doing::Live => "#2a9d55",
        }
    }
}

/// The far side's stretches as the picture shows them: (start, end, doing).
pub fn stretches(a: &Summary) -> Vec<(f64, f64, Doing)> {
    let in_menu = |t: f64| {
        a.menu
            .as_ref()
            .is_some_and(|m| t >= m.start_s && t < m.end_s)
    };
    let live = |t: f64| a.live.iter().any(|l| t >= l.start_s && t < l.end_s);
    let mut out: Vec<(f64, f64, Doing)> = Vec::new();
    for g in &a.segments {
        let mid = (g.start_s + g.end_s) / 2.0;
        let doing = match g.class {
            Class::Tone if in_menu(mid) => Doing::Ringing,
            Class::Silence => Doing::Silence,
            _ if in_menu(mid) => Doing::Menu,
            Class::Speech if live(mid) => Doing::Live,
            Class::Speech | Class::Announcement => Doing::Announcement,
            Class::Music => Doing::Music,
            Class::Tone => Doing::Tone,
        };
        match out.last_mut() {
            Some(last) if last.2 == doing => last.1 = g.end_s,
            _ => out.push((g.start_s, g.end_s, doing)),
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The figures people quote, in words.
pub fn figures(a: &Summary) -> [(String, String); 3] {
    [
        (
            "Time to agent".into(),
            a.first_live_s.map_or("no live agent".to_owned(), clock),
        ),
        ("Menu".into(), clock(a.menu_s)),
        (
            "On hold".into(),
            format!(
                "{} ({} hold{}, {} transfer{})",
                clock(a.hold_s),
                a.holds.len(),
                if a.holds.len() == 1 { "" } else { "s" },
                a.transfers,
                if a.transfers == 1 { "" } else { "s" }
            ),
        ),
    ]
}

/// The picture, an `<svg>` element of its own.
pub fn svg(a: &Summary) -> String {
    const W: f64 = 760.0;
    const X0: f64 = 10.0;
    const BAR_Y: f64 = 34.0;
    const BAR_H: f64 = 28.0;
    let len = a.duration_s.max(1e-3);
    let x = |t: f64| X0 + (t / len).clamp(0.0, 1.0) * (W - 2.0 * X0);
    let [agent, menu, hold] = figures(a);
    let desc = format!(
        "{}: {}. {}: {}. {}: {}.",
        agent.0, agent.1, menu.0, menu.1, hold.0, hold.1
    );
    let mut o = format!(
        "<svg id=\"wait\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" \
         aria-labelledby=\"wait-title wait-desc\" viewBox=\"0 0 {W} 190\" width=\"{W}\" \
         height=\"190\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title id=\"wait-title\">The call over its {}: what the far side was doing</title>\n\
         <desc id=\"wait-desc\">{}</desc>\n",
        clock(a.duration_s),
        esc(&desc)
    );
    // The bar.
    o += "<g class=\"bar\">\n";
    for (s, e, d) in stretches(a) {
        o += &format!(
            "<rect class=\"{}\" x=\"{:.1}\" y=\"{BAR_Y}\" width=\"{:.1}\" height=\"{BAR_H}\" \
             fill=\"{}\"><title>{} {} to {}</title></rect>\n",
            d.label().replace(' ', "-"),
            x(s),
            (x(e) - x(s)).max(0.5),
            d.colour(),
            d.label(),
            clock(s),
            clock(e)
        );
    }
    o += "</g>\n";
    // The caller's key presses, above the bar.
    for k in &a.keys {
        let kx = x(k.at_s);
        o += &format!(
            "<g class=\"key\"><title>key {} pressed at {}</title>\
             <path d=\"M{:.1} {} l-4 -8 h8 z\" fill=\"#000\"/>\
             <text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>\n",
            esc(&k.key.to_string()),
            clock(k.at_s),
            kx,
            BAR_Y - 1.0,
            kx,
            BAR_Y - 12.0,
            esc(&k.key.to_string())
        );
    }
    // Holds and transfers, under the bar.
    for (i, h) in a.holds.iter().enumerate() {
        let (hx, hw) = (x(h.start_s), (x(h.end_s) - x(h.start_s)).max(1.0));
        let y = BAR_Y + BAR_H + 6.0;
        o += &format!(
            "<g class=\"hold\"><title>hold {} from {} to {} ({})</title>\
             <path d=\"M{hx:.1} {y} v6 h{hw:.1} v-6\" fill=\"none\" stroke=\"#000\"/>\
             <text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">hold {}</text></g>\n",
            i + 1,
            clock(h.start_s),
            clock(h.end_s),
            clock(h.seconds()),
            hx + hw / 2.0,
            y + 20.0,
            i + 1
        );
        let between = a.live.iter().any(|l| l.end_s <= h.start_s + 1e-6)
            && a.live.iter().any(|l| l.start_s >= h.end_s - 1e-6);
        if between {
            o += &format!(
                "<g class=\"transfer\"><title>transfer at {}</title>\
                 <path d=\"M{:.1} {} v{}\" stroke=\"#000\" stroke-dasharray=\"3 2\"/></g>\n",
                clock(h.end_s),
                x(h.end_s),
                BAR_Y - 4.0,
                BAR_H + 8.0
            );
        }
    }
    // The legend, in words, and the figures.
    let mut lx = X0;
    for d in Doing::ALL {
        o += &format!(
            "<g class=\"legend\"><rect x=\"{lx:.1}\" y=\"112\" width=\"12\" height=\"12\" \
             fill=\"{}\" stroke=\"#555\"/><text x=\"{:.1}\" y=\"122\">{}</text></g>\n",
            d.colour(),
            lx + 16.0,
            d.label()
        );
        lx += 22.0 + 7.0 * d.label().len() as f64;
    }
    for (i, (name, value)) in [agent, menu, hold].iter().enumerate() {
        o += &format!(
            "<text class=\"figure\" x=\"{X0}\" y=\"{}\"><tspan font-weight=\"bold\">{}:</tspan> {}</text>\n",
            146 + 16 * i,
            esc(name),
            esc(value)
        );
    }
    o += &format!(
        "<text x=\"{X0}\" y=\"14\">0:00</text><text x=\"{:.1}\" y=\"14\" text-anchor=\"end\">{}</text>\n",
        W - X0,
        clock(a.duration_s)
    );
    o += "</svg>\n";
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        serde_json::from_value(serde_json::json!({
            "duration_s": 100.0,
            "first_live_s": 60.0,
            "menu": {"start_s": 0.0, "end_s": 20.0},
            "menu_s": 20.0,
            "holds": [{"start_s": 20.0, "end_s": 60.0, "music_s": 40.0, "announcement_s": 0.0,
                       "tone_s": 0.0, "silence_s": 0.0, "open": false}],
            "hold_s": 40.0,
            "transfers": 0,
            "live": [{"start_s": 60.0, "end_s": 100.0}],
            "keys": [{"at_s": 15.0, "key": "1"}],
            "talk_far_s": 30.0,
            "talk_near_s": 10.0,
            "totals": {"speech_s": 30.0, "music_s": 40.0, "silence_s": 10.0, "tone_s": 4.0,
                       "announcement_s": 16.0},
            "segments": [
                {"start_s": 0.0, "end_s": 4.0, "class": "tone"},
                {"start_s": 4.0, "end_s": 20.0, "class": "announcement"},
                {"start_s": 20.0, "end_s": 60.0, "class": "music"},
                {"start_s": 60.0, "end_s": 100.0, "class": "speech"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn stretches_tell_ringing_and_menu_from_the_hold_and_the_agent() {
        let s = stretches(&summary());
        let doing: Vec<Doing> = s.iter().map(|x| x.2).collect();
        assert_eq!(
            doing,
            vec![Doing::Ringing, Doing::Menu, Doing::Music, Doing::Live]
        );
    }

    #[test]
    fn the_picture_has_its_parts_and_words() {
        let svg = svg(&summary());
        for part in [
            "role=\"img\"",
            "<title>ringing 0:00.0 to 0:04.0</title>",
            "<title>key 1 pressed at 0:15.0</title>",
            ">hold 1</text>",
            "Time to agent:</tspan> 1:00.0",
            "Menu:</tspan> 0:20.0",
            "On hold:</tspan> 0:40.0 (1 hold, 0 transfers)",
            ">live agent</text>",
        ] {
            assert!(svg.contains(part), "{part} missing:\n{svg}");
        }
        assert!(!svg.contains("<script"));
        assert!(!svg.contains("class=\"transfer\""));
    }
}
