//! The specs as a plain tree: YAML mappings keep their order, scalars keep
//! what the generator needs to print them.

use yaml_rust2::Yaml;

/// One YAML value.
#[derive(Debug, Clone)]
pub enum Node {
    /// `null` or `~`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float, as written.
    Real(String),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(String, Node)>),
}

static EMPTY: Node = Node::Map(Vec::new());

impl Node {
    /// Converts a parsed document.
    pub fn from_yaml(y: &Yaml) -> Node {
        match y {
            Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Node::Null,
            Yaml::Boolean(b) => Node::Bool(*b),
            Yaml::Integer(i) => Node::Int(*i),
            Yaml::Real(s) => Node::Real(s.clone()),
            Yaml::String(s) => Node::Str(s.clone()),
            Yaml::Array(a) => Node::Seq(a.iter().map(Node::from_yaml).collect()),
            Yaml::Hash(h) => Node::Map(
                h.iter()
                    .map(|(k, v)| (Node::from_yaml(k).text(), Node::from_yaml(v)))
                    .collect(),
            ),
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of `key`, or an empty mapping.
    pub fn get_or_empty(&self, key: &str) -> &Node {
        self.get(key).unwrap_or(&EMPTY)
    }

    /// The mutable value of `key` in a mapping.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match self {
            Node::Map(m) => m.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Sets `key` (in place when present, else at the end).
    pub fn set(&mut self, key: &str, value: Node) {
        if let Node::Map(m) = self {
            match m.iter_mut().find(|(k, _)| k == key) {
                Some((_, v)) => *v = value,
                None => m.push((key.to_owned(), value)),
            }
        }
    }

    /// The string value of `key`.
    pub fn str_of(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Node::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The entries of a mapping (none for anything else).
    pub fn entries(&self) -> &[(String, Node)] {
        match self {
            Node::Map(m) => m,
            _ => &[],
        }
    }

    /// The items of a sequence (none for anything else).
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(s) => s,
            _ => &[],
        }
    }

    /// Whether the value counts as true (a non-empty string, mapping or
    /// sequence, a non-zero number, `true`).
    pub fn truthy(&self) -> bool {
        match self {
            Node::Null => false,
            Node::Bool(b) => *b,
            Node::Int(i) => *i != 0,
            Node::Real(s) => s.parse::<f64>().map(|f| f != 0.0).unwrap_or(true),
            Node::Str(s) => !s.is_empty(),
            Node::Seq(s) => !s.is_empty(),
            Node::Map(m) => !m.is_empty(),
        }
    }

    /// Whether `key` is present and true.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some_and(Node::truthy)
    }

    /// The value as text (a number in decimal, a boolean as `True`/`False`).
    pub fn text(&self) -> String {
        match self {
            Node::Null => "None".to_owned(),
            Node::Bool(true) => "True".to_owned(),
            Node::Bool(false) => "False".to_owned(),
            Node::Int(i) => i.to_string(),
            Node::Real(s) => s.parse::<f64>().map(|f| format!("{f:?}")).unwrap_or_else(|_| s.clone()),
            Node::Str(s) => s.clone(),
            Node::Seq(_) | Node::Map(_) => String::new(),
        }
    }

    /// An identity for caches keyed by schema object.
    pub fn id(&self) -> usize {
        self as *const Node as usize
    }
}
