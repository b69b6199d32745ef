//! C-core channel arguments set by name (`yes-server --ccore-arg`): C-core's
//! tuning knobs, for measuring them (scripts/bench-knobs.sh), checked
//! against what they are known to break on the linked C-core.

use std::ffi::CString;

use grpcio::ChannelBuilder;

/// One C-core channel argument, `grpc.NAME=VALUE` (`--ccore-arg`): an
/// integer where the value reads as one, else a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CcoreArg {
    pub name: String,
    pub value: CcoreValue,
}

/// The value of a [`CcoreArg`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CcoreValue {
    Int(i32),
    Text(String),
}

impl std::str::FromStr for CcoreArg {
    type Err = String;

    fn from_str(arg: &str) -> Result<CcoreArg, String> {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(format!("{arg:?} is not NAME=VALUE"));
        };
        // C-core's own arguments all live under "grpc."; anything else is
        // a typo C-core would ignore without a word.
        if !name.starts_with("grpc.") || name.len() == "grpc.".len() || name.contains('\0') {
            return Err(format!(
                "{name:?} is not a C-core channel argument (they are named grpc.*)"
            ));
        }
        if value.is_empty() || value.contains('\0') {
            return Err(format!("{name} needs a value"));
        }
        let value = match value.parse() {
            Ok(number) => CcoreValue::Int(number),
            Err(_) => CcoreValue::Text(value.to_owned()),
        };
        Ok(CcoreArg {
            name: name.to_owned(),
            value,
        })
    }
}

impl std::fmt::Display for CcoreArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            CcoreValue::Int(number) => write!(f, "{}={number}", self.name),
            CcoreValue::Text(text) => write!(f, "{}={text}", self.name),
        }
    }
}

/// C-core's own major version from which `grpc.minimal_stack` keeps the
/// server's deadlines: 58, gRPC 1.85 (measured). On Debian's 1.51 it drops
/// the deadline filter, and a client that stops reading and never cancels
/// holds its stream for good (tests/lifecycle.rs); versions between are
/// not measured.
pub const MINIMAL_STACK_KEEPS_DEADLINES: u32 = 58;

/// The integer `args` give C-core for `name`, if any: the last one, as
/// C-core reads them.
pub fn int(args: &[CcoreArg], name: &str) -> Option<i32> {
    args.iter()
        .rev()
        .find(|arg| arg.name == name)
        .and_then(|arg| match arg.value {
            CcoreValue::Int(number) => Some(number),
            CcoreValue::Text(_) => None,
        })
}

/// Adds `args` to a channel-argument builder, after everything else;
/// refuses one known to break what the server promises on this C-core.
pub fn apply(mut builder: ChannelBuilder, args: &[CcoreArg]) -> Result<ChannelBuilder, String> {
    for arg in args {
        if arg.name == "grpc.minimal_stack" && arg.value != CcoreValue::Int(0) {
            if crate::ccore::major() < MINIMAL_STACK_KEEPS_DEADLINES {
                return Err(format!(
                    "{arg} drops deadline handling on {}: a client that stops reading would \
                     hold its stream past its deadline (it keeps it from gRPC 1.85 on)",
                    crate::ccore::describe()
                ));
            }
            log::warn!(
                "{arg}: C-core drops its optional filters, among them the request size limit \
                 (--max-request-bytes) and --max-connection-age (measured on gRPC 1.85)"
            );
        }
        let name = CString::new(arg.name.as_str()).expect("checked for NUL when parsed");
        builder = match &arg.value {
            CcoreValue::Int(number) => builder.raw_cfg_int(name, *number),
            CcoreValue::Text(text) => builder.raw_cfg_string(
                name,
                CString::new(text.as_str()).expect("checked for NUL when parsed"),
            ),
        };
    }
    Ok(builder)
}
