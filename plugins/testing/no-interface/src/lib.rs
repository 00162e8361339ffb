//! A plugin of the right ABI that offers no interface the daemon knows: it must be refused.

onrecord_plugin::export!(id: "no-interface", description: "offers nothing");
