//! A connector built against the first contract, `weft:plugin@0.1.0` (a copy
//! of it is kept in this crate's `wit/`), with wit-bindgen directly: a host
//! that speaks a later 0.1.x must still load and run it.

wit_bindgen::generate!({
    path: "wit",
    world: "weft:plugin/connector",
    generate_all,
});

use exports::weft::plugin::connector_api::{
    Guest, InvokeRequest, Manifest, PollRequest, PollResponse, SubscribeRequest, UnsubscribeRequest, WebhookOutcome,
    WebhookRequest,
};
use weft::plugin::types::Error;

struct Old;

impl Guest for Old {
    fn describe() -> Manifest {
        Manifest {
            name: "contract-0-1-0".into(),
            version: "0.1.0".into(),
            description: "built against weft:plugin@0.1.0".into(),
            triggers: vec![],
            actions: vec![exports::weft::plugin::connector_api::ActionSpec {
                name: "echo".into(),
                description: "returns its input".into(),
                input_schema: "{}".into(),
                output_schema: "{}".into(),
            }],
            settings: vec![],
            hosts: vec![],
        }
    }

    fn poll(_: PollRequest) -> Result<PollResponse, Error> {
        Err(Error::Fatal("no triggers".into()))
    }

    fn subscribe(_: SubscribeRequest) -> Result<String, Error> {
        Err(Error::Fatal("no triggers".into()))
    }

    fn unsubscribe(_: UnsubscribeRequest) -> Result<(), Error> {
        Err(Error::Fatal("no triggers".into()))
    }

    fn handle_webhook(_: WebhookRequest) -> Result<WebhookOutcome, Error> {
        Err(Error::Fatal("no triggers".into()))
    }

    fn invoke(request: InvokeRequest) -> Result<String, Error> {
        weft::plugin::log::log(weft::plugin::log::Level::Info, "echo from a 0.1.0 plugin");
        Ok(request.input)
    }
}

export!(Old);
