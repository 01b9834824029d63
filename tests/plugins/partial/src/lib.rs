//! Claims to be a connector but exports only part of the interface, with the
//! wrong types: weft must refuse it and say the exports do not match.

wit_bindgen::generate!({
    inline: "
        package weft:plugin@0.1.0;

        interface connector-api {
            describe: func() -> string;
        }

        world partial {
            export connector-api;
        }
    ",
    world: "partial",
});

struct Partial;

impl exports::weft::plugin::connector_api::Guest for Partial {
    fn describe() -> String {
        "half a connector".into()
    }
}

export!(Partial);
