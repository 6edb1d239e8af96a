//! One tree, two renderings: Open311 resources are built once as [`Node`]s and written as XML
//! (with the declaration, no namespace) or as JSON (bare arrays for lists) with the exact
//! content types of the spec. A writer of our own rather than quick-xml's serde: the shapes are
//! few and fixed, and element order and empty elements must be exactly what clients expect.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

pub const XML_TYPE: &str = "text/xml; charset=utf-8";
pub const JSON_TYPE: &str = "application/json; charset=utf-8";

/// The format asked for by the path's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// Splits `name.xml` / `name.json` into the name and its format.
    pub fn split(file: &str) -> Option<(&str, Format)> {
        let (stem, ext) = file.rsplit_once('.')?;
        let f = match ext.to_ascii_lowercase().as_str() {
            "xml" => Format::Xml,
            "json" => Format::Json,
            _ => return None,
        };
        (!stem.is_empty()).then_some((stem, f))
    }
}

/// A value of an Open311 resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    /// Fields in the order they are written.
    Obj(Vec<(String, Node)>),
    /// A list: in XML each element is wrapped in an element named `item`.
    List(&'static str, Vec<Node>),
}

impl Node {
    pub fn obj(fields: Vec<(&str, Node)>) -> Node {
        Node::Obj(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }
    pub fn opt(s: Option<impl Into<String>>) -> Node {
        s.map_or(Node::Null, |s| Node::Str(s.into()))
    }
    pub fn num(v: Option<f64>) -> Node {
        v.map_or(Node::Null, Node::Num)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Null => s.serialize_none(),
            Node::Str(v) => s.serialize_str(v),
            Node::Num(v) => s.serialize_f64(*v),
            Node::Int(v) => s.serialize_i64(*v),
            Node::Bool(v) => s.serialize_bool(*v),
            Node::Obj(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
            Node::List(_, items) => {
                let mut q = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    q.serialize_element(v)?;
                }
                q.end()
            }
        }
    }
}

/// A whole response body: a list (`services`/`service`, …) or a single object (`discovery`,
/// `service_definition`).
#[derive(Debug, Clone)]
pub enum Body {
    List {
        root: &'static str,
        item: &'static str,
        items: Vec<Node>,
    },
    Object {
        root: &'static str,
        node: Node,
    },
}

/// Characters XML 1.0 cannot carry at all; replaced rather than producing a document no parser reads.
fn xml_char_ok(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_char_ok(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn fmt_f64(v: f64) -> String {
    // serde_json's shortest round-trip form, so XML and JSON show the same digits.
    serde_json::to_string(&v).unwrap_or_else(|_| v.to_string())
}

fn write_xml(out: &mut String, name: &str, node: &Node) {
    match node {
        Node::Null => {
            out.push('<');
            out.push_str(name);
            out.push_str("/>");
        }
        Node::Obj(fields) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (k, v) in fields {
                write_xml(out, k, v);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        Node::List(item, items) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for v in items {
                write_xml(out, item, v);
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
        scalar => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            match scalar {
                Node::Str(s) => escape_into(out, s),
                Node::Num(v) => out.push_str(&fmt_f64(*v)),
                Node::Int(v) => out.push_str(&v.to_string()),
                Node::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
                _ => {}
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
}

impl Body {
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        match self {
            Body::List { root, item, items } => {
                write_xml(&mut out, root, &Node::List(item, items.clone()))
            }
            Body::Object { root, node } => write_xml(&mut out, root, node),
        }
        out.push('\n');
        out
    }

    pub fn to_json(&self) -> String {
        let r = match self {
            Body::List { items, .. } => serde_json::to_string(items),
            Body::Object { node, .. } => serde_json::to_string(node),
        };
        r.unwrap_or_else(|_| "[]".into())
    }

    pub fn render(&self, f: Format, status: StatusCode) -> Response {
        let (text, ct) = match f {
            Format::Xml => (self.to_xml(), XML_TYPE),
            Format::Json => (self.to_json(), JSON_TYPE),
        };
        let mut r = (status, text).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_bare_json_arrays_and_wrapped_xml() {
        let b = Body::List {
            root: "services",
            item: "service",
            items: vec![Node::obj(vec![
                ("service_code", Node::str("C0102")),
                ("metadata", Node::Bool(true)),
                ("lat", Node::Num(30.78412)),
                ("group", Node::Null),
                ("keywords", Node::List("keyword", vec![Node::str("a&b<c>")])),
            ])],
        };
        assert_eq!(
            b.to_json(),
            r#"[{"service_code":"C0102","metadata":true,"lat":30.78412,"group":null,"keywords":["a&b<c>"]}]"#
        );
        assert_eq!(
            b.to_xml(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service><service_code>C0102</service_code>\
             <metadata>true</metadata><lat>30.78412</lat><group/><keywords><keyword>a&amp;b&lt;c&gt;</keyword>\
             </keywords></service></services>\n"
        );
    }

    #[test]
    fn characters_xml_cannot_carry_are_replaced() {
        let mut s = String::new();
        escape_into(&mut s, "a\u{1}b\"'\u{FFFF}\n");
        assert_eq!(s, "a\u{FFFD}b&quot;&apos;\u{FFFD}\n");
    }

    #[test]
    fn format_comes_from_the_suffix() {
        assert_eq!(
            Format::split("services.json"),
            Some(("services", Format::Json))
        );
        assert_eq!(Format::split("req.1.XML"), Some(("req.1", Format::Xml)));
        assert_eq!(Format::split("services"), None);
        assert_eq!(Format::split(".xml"), None);
        assert_eq!(Format::split("a.html"), None);
    }
}
