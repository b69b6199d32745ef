//! Server reflection: `grpc.reflection.v1.ServerReflection` and its older
//! twin `grpc.reflection.v1alpha.ServerReflection`, which is what `grpcurl`,
//! `evans -r` and Python's `grpcio-reflection` ask clients' questions of.
//!
//! There is no grpcio reflection crate, so this is ours. It answers from the
//! file descriptors that the generated code embeds (`yes.proto`, `health.proto`
//! and the two reflection protos, all under `proto/`), so what it describes
//! is exactly what the server was built from.
//!
//! Both versions have the same messages under different package names, so
//! they share one wire format: both methods are bound here with the `v1`
//! message types, and one handler serves both.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures::{SinkExt, TryStreamExt};
use grpcio::{
    DuplexSink, Marshaller, Method, MethodType, RequestStream, RpcContext, RpcStatus,
    RpcStatusCode, Service, ServiceBuilder, WriteFlags,
};
use log::{debug, info};
use protobuf::descriptor::{DescriptorProto, FieldDescriptorProto, FileDescriptorProto};
use protobuf::{Message, RepeatedField};

use crate::proto::reflection_v1::{
    ErrorResponse, ExtensionNumberResponse, FileDescriptorResponse, ListServiceResponse,
    ServerReflectionRequest, ServerReflectionRequest_oneof_message_request as Query,
    ServerReflectionResponse, ServiceResponse,
};

/// `ServerReflectionInfo` of `grpc.reflection.v1`.
pub const METHOD_V1: Method<ServerReflectionRequest, ServerReflectionResponse> = Method {
    ty: MethodType::Duplex,
    name: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    req_mar: Marshaller {
        ser: grpcio::pb_ser,
        de: grpcio::pb_de,
    },
    resp_mar: Marshaller {
        ser: grpcio::pb_ser,
        de: grpcio::pb_de,
    },
};

/// `ServerReflectionInfo` of `grpc.reflection.v1alpha`, with the `v1`
/// message types: the bytes on the wire are the same.
pub const METHOD_V1ALPHA: Method<ServerReflectionRequest, ServerReflectionResponse> = Method {
    name: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ..METHOD_V1
};

/// Builds the reflection service (both versions) answering from `catalog`.
pub fn service(catalog: Arc<Catalog>) -> Service {
    let for_alpha = catalog.clone();
    ServiceBuilder::new()
        .add_duplex_streaming_handler(&METHOD_V1, move |ctx, requests, sink| {
            serve(ctx, requests, sink, catalog.clone())
        })
        .add_duplex_streaming_handler(&METHOD_V1ALPHA, move |ctx, requests, sink| {
            serve(ctx, requests, sink, for_alpha.clone())
        })
        .build()
}

/// Answers each request of one reflection stream in turn, on the call's
/// completion-queue thread: every answer is a lookup, nothing blocks.
fn serve(
    ctx: RpcContext<'_>,
    requests: RequestStream<ServerReflectionRequest>,
    mut sink: DuplexSink<ServerReflectionResponse>,
    catalog: Arc<Catalog>,
) {
    let peer = crate::peer::of(&ctx);
    ctx.spawn(async move {
        let mut requests = requests;
        let mut answered = 0u64;
        let ended = async {
            while let Some(request) = requests.try_next().await? {
                let response = catalog.answer(request);
                sink.send((response, WriteFlags::default())).await?;
                answered += 1;
            }
            sink.close().await
        }
        .await;
        match ended {
            Ok(()) => debug!("reflection stream from {peer} answered {answered} requests"),
            Err(grpcio::Error::Codec(e)) => {
                info!(
                    "reflection stream from {peer}: request is not a ServerReflectionRequest: {e}"
                );
                let status = RpcStatus::with_message(
                    RpcStatusCode::INVALID_ARGUMENT,
                    format!("request is not a grpc.reflection ServerReflectionRequest: {e}"),
                );
                let _ = sink.fail(status).await;
            }
            Err(e) => debug!("reflection stream from {peer} ended after {answered} answers: {e}"),
        }
    });
}

/// One answer to a reflection query, before it is put in a response.
type Answer = Result<Found, (RpcStatusCode, String)>;

/// What a query found.
enum Found {
    Files(Vec<Vec<u8>>),
    Services(Vec<String>),
    ExtensionNumbers(String, Vec<i32>),
}

/// The files reflection describes, indexed by file name, by every symbol
/// they define, and by extension.
#[derive(Debug, Default)]
pub struct Catalog {
    /// File name -> (encoded descriptor, names of the files it imports).
    files: BTreeMap<String, (Vec<u8>, Vec<String>)>,
    /// Fully qualified symbol (no leading dot) -> file name.
    symbols: HashMap<String, String>,
    /// Message type -> its extensions' field numbers -> file name.
    extensions: HashMap<String, BTreeMap<i32, String>>,
    services: BTreeSet<String>,
}

impl Catalog {
    /// The catalog of what `yes-server` serves: `yes.SayYes`, health,
    /// reflection itself, and channelz when `channelz` says so.
    pub fn served(channelz: bool) -> Catalog {
        let mut files = vec![
            crate::proto::yes::file_descriptor_proto().clone(),
            crate::proto::health::file_descriptor_proto().clone(),
            crate::proto::reflection_v1::file_descriptor_proto().clone(),
            crate::proto::reflection_v1alpha::file_descriptor_proto().clone(),
        ];
        if channelz {
            files.extend(crate::channelz::descriptors());
        }
        Catalog::new(&files)
    }

    /// A catalog of `files`; every service they define is listed.
    pub fn new<'a>(files: impl IntoIterator<Item = &'a FileDescriptorProto>) -> Catalog {
        let mut catalog = Catalog::default();
        for file in files {
            catalog.add(file);
        }
        catalog
    }

    /// The services `list_services` reports, sorted.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(String::as_str)
    }

    fn add(&mut self, file: &FileDescriptorProto) {
        let name = file.get_name().to_string();
        let scope = match file.get_package() {
            "" => String::new(),
            package => format!("{package}."),
        };
        let mut symbols = Vec::new();
        for message in file.get_message_type() {
            self.add_message(&scope, message, &name, &mut symbols);
        }
        for enumeration in file.get_enum_type() {
            symbols.push(format!("{scope}{}", enumeration.get_name()));
            for value in enumeration.get_value() {
                // Enum values are siblings of their enum, as in C++.
                symbols.push(format!("{scope}{}", value.get_name()));
            }
        }
        for service in file.get_service() {
            let service_name = format!("{scope}{}", service.get_name());
            for method in service.get_method() {
                symbols.push(format!("{service_name}.{}", method.get_name()));
            }
            self.services.insert(service_name.clone());
            symbols.push(service_name);
        }
        for extension in file.get_extension() {
            symbols.push(format!("{scope}{}", extension.get_name()));
            self.add_extension(extension, &name);
        }
        for symbol in symbols {
            self.symbols.insert(symbol, name.clone());
        }
        let bytes = file
            .write_to_bytes()
            .expect("an embedded descriptor encodes");
        let imports = file.get_dependency().to_vec();
        self.files.insert(name, (bytes, imports));
    }

    fn add_message(
        &mut self,
        scope: &str,
        message: &DescriptorProto,
        file: &str,
        symbols: &mut Vec<String>,
    ) {
        let full = format!("{scope}{}", message.get_name());
        let inner = format!("{full}.");
        self.extensions.entry(full.clone()).or_default();
        for field in message.get_field() {
            symbols.push(format!("{inner}{}", field.get_name()));
        }
        for oneof in message.get_oneof_decl() {
            symbols.push(format!("{inner}{}", oneof.get_name()));
        }
        for nested in message.get_nested_type() {
            self.add_message(&inner, nested, file, symbols);
        }
        for enumeration in message.get_enum_type() {
            symbols.push(format!("{inner}{}", enumeration.get_name()));
            for value in enumeration.get_value() {
                symbols.push(format!("{inner}{}", value.get_name()));
            }
        }
        for extension in message.get_extension() {
            symbols.push(format!("{inner}{}", extension.get_name()));
            self.add_extension(extension, file);
        }
        symbols.push(full);
    }

    fn add_extension(&mut self, extension: &FieldDescriptorProto, file: &str) {
        let extendee = extension.get_extendee().trim_start_matches('.').to_string();
        self.extensions
            .entry(extendee)
            .or_default()
            .insert(extension.get_number(), file.to_string());
    }

    /// Answers one request. Failed lookups are answered in the response's
    /// `error_response`, as the protocol asks; the stream goes on.
    pub fn answer(&self, request: ServerReflectionRequest) -> ServerReflectionResponse {
        let answer = match &request.message_request {
            Some(Query::list_services(_)) => Ok(Found::Services(
                self.services().map(str::to_owned).collect(),
            )),
            Some(Query::file_by_filename(name)) => self.file_by_name(name),
            Some(Query::file_containing_symbol(symbol)) => self.file_containing_symbol(symbol),
            Some(Query::file_containing_extension(wanted)) => self.file_containing_extension(
                wanted.get_containing_type(),
                wanted.get_extension_number(),
            ),
            Some(Query::all_extension_numbers_of_type(name)) => self.extension_numbers(name),
            None => Err((
                RpcStatusCode::INVALID_ARGUMENT,
                "the request asks nothing: set one of message_request's fields".to_string(),
            )),
        };
        let mut response = ServerReflectionResponse::new();
        response.set_valid_host(request.get_host().to_owned());
        match answer {
            Ok(Found::Files(files)) => {
                let mut found = FileDescriptorResponse::new();
                found.set_file_descriptor_proto(RepeatedField::from_vec(files));
                response.set_file_descriptor_response(found);
            }
            Ok(Found::Services(names)) => {
                let services = names
                    .into_iter()
                    .map(|name| {
                        let mut service = ServiceResponse::new();
                        service.set_name(name);
                        service
                    })
                    .collect();
                let mut list = ListServiceResponse::new();
                list.set_service(RepeatedField::from_vec(services));
                response.set_list_services_response(list);
            }
            Ok(Found::ExtensionNumbers(base_type, numbers)) => {
                let mut found = ExtensionNumberResponse::new();
                found.set_base_type_name(base_type);
                found.set_extension_number(numbers);
                response.set_all_extension_numbers_response(found);
            }
            Err((code, message)) => {
                debug!("reflection: {message}");
                let mut error = ErrorResponse::new();
                error.set_error_code(code.into());
                error.set_error_message(message);
                response.set_error_response(error);
            }
        }
        response.set_original_request(request);
        response
    }

    /// The file named `name` first, then every file it imports, directly or
    /// not, each once: a client can build its descriptor pool from one answer.
    fn file_by_name(&self, name: &str) -> Answer {
        if !self.files.contains_key(name) {
            return Err(not_found(format!("no file named {name:?}")));
        }
        let mut sent = BTreeSet::new();
        let mut files = Vec::new();
        let mut next = vec![name];
        while let Some(name) = next.pop() {
            if !sent.insert(name) {
                continue;
            }
            // An import the catalog lacks is left out: the client asks for
            // it by name and gets NOT_FOUND, which says what is missing.
            if let Some((bytes, imports)) = self.files.get(name) {
                files.push(bytes.clone());
                next.extend(imports.iter().rev().map(String::as_str));
            }
        }
        Ok(Found::Files(files))
    }

    fn file_containing_symbol(&self, symbol: &str) -> Answer {
        // Clients may send the descriptor form, with a leading dot.
        match self.symbols.get(symbol.trim_start_matches('.')) {
            Some(file) => self.file_by_name(file),
            None => Err(not_found(format!("no symbol named {symbol:?}"))),
        }
    }

    fn file_containing_extension(&self, message: &str, number: i32) -> Answer {
        let message = message.trim_start_matches('.');
        match self
            .extensions
            .get(message)
            .and_then(|all| all.get(&number))
        {
            Some(file) => self.file_by_name(file),
            None => Err(not_found(format!(
                "no extension {number} of message type {message:?}"
            ))),
        }
    }

    fn extension_numbers(&self, message: &str) -> Answer {
        let message = message.trim_start_matches('.');
        match self.extensions.get(message) {
            Some(all) => Ok(Found::ExtensionNumbers(
                message.to_string(),
                all.keys().copied().collect(),
            )),
            None => Err(not_found(format!("no message type named {message:?}"))),
        }
    }
}

fn not_found(message: String) -> (RpcStatusCode, String) {
    (RpcStatusCode::NOT_FOUND, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use protobuf::descriptor::{EnumDescriptorProto, EnumValueDescriptorProto};

    fn file(name: &str, package: &str, imports: &[&str]) -> FileDescriptorProto {
        let mut file = FileDescriptorProto::new();
        file.set_name(name.into());
        file.set_package(package.into());
        file.set_dependency(imports.iter().map(|s| s.to_string()).collect());
        file
    }

    fn names(answer: Answer) -> Vec<String> {
        match answer {
            Ok(Found::Files(files)) => files
                .iter()
                .map(|bytes| {
                    FileDescriptorProto::parse_from_bytes(bytes)
                        .unwrap()
                        .get_name()
                        .to_owned()
                })
                .collect(),
            _ => panic!("expected files"),
        }
    }

    /// A catalog: a.proto imports b and c, b imports c; c defines
    /// p.Outer.Inner with a nested enum; d extends p.Outer with field 100.
    fn catalog() -> Catalog {
        let mut value = EnumValueDescriptorProto::new();
        value.set_name("V".into());
        let mut enumeration = EnumDescriptorProto::new();
        enumeration.set_name("E".into());
        enumeration.mut_value().push(value);
        let mut inner = DescriptorProto::new();
        inner.set_name("Inner".into());
        inner.mut_enum_type().push(enumeration);
        let mut outer = DescriptorProto::new();
        outer.set_name("Outer".into());
        outer.mut_nested_type().push(inner);
        let mut c = file("c.proto", "p", &[]);
        c.mut_message_type().push(outer);

        let mut extension = FieldDescriptorProto::new();
        extension.set_name("more".into());
        extension.set_number(100);
        extension.set_extendee(".p.Outer".into());
        let mut d = file("d.proto", "q", &["c.proto"]);
        d.mut_extension().push(extension);

        Catalog::new(&[
            file("a.proto", "", &["b.proto", "c.proto"]),
            file("b.proto", "", &["c.proto"]),
            c,
            d,
        ])
    }

    #[test]
    fn a_file_comes_first_then_each_import_once() {
        let catalog = catalog();
        assert_eq!(
            names(catalog.file_by_name("a.proto")),
            ["a.proto", "b.proto", "c.proto"]
        );
        assert_eq!(names(catalog.file_by_name("c.proto")), ["c.proto"]);
    }

    #[test]
    fn nested_symbols_resolve_to_their_file() {
        let catalog = catalog();
        for symbol in [
            "p.Outer",
            "p.Outer.Inner",
            "p.Outer.Inner.E",
            ".p.Outer.Inner.V",
            "q.more",
        ] {
            let expected: &[&str] = if symbol == "q.more" {
                &["d.proto", "c.proto"]
            } else {
                &["c.proto"]
            };
            assert_eq!(
                names(catalog.file_containing_symbol(symbol)),
                expected,
                "{symbol}"
            );
        }
        assert!(catalog.file_containing_symbol("p.Inner").is_err());
    }

    #[test]
    fn extensions_are_found_by_type_and_number() {
        let catalog = catalog();
        assert_eq!(
            names(catalog.file_containing_extension("p.Outer", 100)),
            ["d.proto", "c.proto"]
        );
        assert!(catalog.file_containing_extension("p.Outer", 101).is_err());
        match catalog.extension_numbers(".p.Outer") {
            Ok(Found::ExtensionNumbers(base, numbers)) => {
                assert_eq!((base.as_str(), numbers), ("p.Outer", vec![100]));
            }
            _ => panic!("expected extension numbers"),
        }
    }
}
