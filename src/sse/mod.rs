//! The SSE side of a connection: the wire format ([`frame`]), where a stream starts
//! ([`resume`]) and the response body that walks a cursor over the tail ([`body`]).

pub mod body;
pub mod frame;
pub mod resume;
