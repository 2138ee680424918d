//! Menu definitions: what a rich menu is made of, how it is read from JSON or TOML, and its
//! content hash.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use line_core::model::{Action, RichMenuArea, RichMenuBounds, RichMenuRequest, RichMenuSize};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind};

/// The size of a rich menu image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MenuSize {
    /// Width (800 to 2,500).
    pub width: u32,
    /// Height (at least 250).
    pub height: u32,
}

/// A tappable rectangle, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Bounds {
    /// A rectangle.
    pub fn new(x: u32, y: u32, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }
}

/// One tappable area and what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AreaDef {
    /// Where.
    pub bounds: Bounds,
    /// What a tap does (any LINE action, `richmenuswitch` included).
    pub action: Action,
}

impl AreaDef {
    /// An area.
    pub fn new(bounds: Bounds, action: impl Into<Action>) -> Self {
        Self {
            bounds,
            action: action.into(),
        }
    }
}

/// A declared rich menu, as written in code or in a JSON/TOML file.
///
/// JSON form (TOML is the same structure):
///
/// ```json
/// { "key": "linked", "chatBarText": "Menu", "image": "linked.png", "alias": "tab-a",
///   "areas": [ { "bounds": {"x":0,"y":0,"width":1250,"height":843},
///                "action": {"type":"uri","uri":"https://example.com"} } ] }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct MenuDef {
    /// A stable key, chosen by you, that names the menu across versions.
    pub key: String,
    /// The size; if absent, the image's own dimensions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<MenuSize>,
    /// Whether the menu opens by default.
    #[serde(default)]
    pub selected: bool,
    /// A name for the LINE Official Account Manager (the key if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Text of the chat bar (at most 14 characters).
    pub chat_bar_text: String,
    /// Tappable areas (at most 20).
    #[serde(default)]
    pub areas: Vec<AreaDef>,
    /// The image file (PNG or JPEG), relative to the definition file.
    pub image: PathBuf,
    /// A rich menu alias to point at this menu (`^[a-z0-9_-]{1,32}$`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

impl MenuDef {
    /// A menu with its required parts; add areas with [`MenuDef::area`].
    pub fn new(key: impl Into<String>, chat_bar_text: impl Into<String>, image: impl Into<PathBuf>) -> Self {
        Self {
            key: key.into(),
            size: None,
            selected: false,
            name: None,
            chat_bar_text: chat_bar_text.into(),
            areas: Vec::new(),
            image: image.into(),
            alias: None,
        }
    }

    /// Adds an area.
    pub fn area(mut self, bounds: Bounds, action: impl Into<Action>) -> Self {
        self.areas.push(AreaDef::new(bounds, action));
        self
    }

    /// Sets the alias.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.alias = Some(alias.into());
        self
    }

    /// Sets the declared size.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Some(MenuSize { width, height });
        self
    }

    /// Sets the name shown in the LINE Official Account Manager.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets whether the menu opens by default.
    pub fn selected(mut self, selected: bool) -> Self {
        self.selected = selected;
        self
    }
}

/// The kinds of image LINE takes for a rich menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ImageFormat {
    /// `image/png`
    Png,
    /// `image/jpeg`
    Jpeg,
}

impl ImageFormat {
    /// The content type of the upload.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }
}

/// A menu image: its bytes and what its header says.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    bytes: Bytes,
    format: Option<ImageFormat>,
    dimensions: Option<(u32, u32)>,
    read_error: Option<String>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("len", &self.bytes.len())
            .field("format", &self.format)
            .field("dimensions", &self.dimensions)
            .field("read_error", &self.read_error)
            .finish()
    }
}

impl Image {
    /// Reads the format and dimensions from the header of `bytes` (nothing is decoded).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let format = match imagesize::image_type(&bytes) {
            Ok(imagesize::ImageType::Png) => Some(ImageFormat::Png),
            Ok(imagesize::ImageType::Jpeg) => Some(ImageFormat::Jpeg),
            _ => None,
        };
        let dimensions = imagesize::blob_size(&bytes).ok().and_then(|s| {
            let w = u32::try_from(s.width).ok()?;
            let h = u32::try_from(s.height).ok()?;
            Some((w, h))
        });
        Self {
            bytes,
            format,
            dimensions,
            read_error: None,
        }
    }

    /// Reads an image file. A file that cannot be read gives an image that fails validation
    /// with the reason, so that every problem is reported at once.
    pub fn from_file(path: &Path) -> Self {
        match std::fs::read(path) {
            Ok(b) => Self::from_bytes(b),
            Err(e) => Self {
                bytes: Bytes::new(),
                format: None,
                dimensions: None,
                read_error: Some(format!("cannot read image file {}: {e}", path.display())),
            },
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// PNG or JPEG, if the header says so.
    pub fn format(&self) -> Option<ImageFormat> {
        self.format
    }

    /// Width and height from the header.
    pub fn dimensions(&self) -> Option<(u32, u32)> {
        self.dimensions
    }

    /// Why the file could not be read, if it could not.
    pub fn read_error(&self) -> Option<&str> {
        self.read_error.as_deref()
    }
}

/// A menu definition with its image, ready to validate and deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Menu {
    /// The definition.
    pub def: MenuDef,
    /// The image.
    pub image: Image,
    /// JSON pointer of the definition in its file (`""` for a one-menu file,
    /// `/menus/3` in a set); findings are prefixed with it.
    pub place: String,
}

impl Menu {
    /// A menu from a definition and its image.
    pub fn new(def: MenuDef, image: Image) -> Self {
        Self {
            def,
            image,
            place: String::new(),
        }
    }

    /// The declared size, or the image's dimensions when none is declared.
    pub fn effective_size(&self) -> Option<MenuSize> {
        self.def
            .size
            .or_else(|| self.image.dimensions.map(|(width, height)| MenuSize { width, height }))
    }

    /// The rich menu object without the content tag in its name.
    fn base_request(&self) -> RichMenuRequest {
        let mut req = RichMenuRequest::new();
        if let Some(s) = self.effective_size() {
            let mut size = RichMenuSize::new();
            size.width = Some(i64::from(s.width));
            size.height = Some(i64::from(s.height));
            req.size = Some(size);
        }
        req.selected = Some(self.def.selected);
        req.name = Some(self.def.name.clone().unwrap_or_else(|| self.def.key.clone()));
        req.chat_bar_text = Some(self.def.chat_bar_text.clone());
        req.areas = Some(
            self.def
                .areas
                .iter()
                .map(|a| {
                    let mut b = RichMenuBounds::new();
                    b.x = Some(i64::from(a.bounds.x));
                    b.y = Some(i64::from(a.bounds.y));
                    b.width = Some(i64::from(a.bounds.width));
                    b.height = Some(i64::from(a.bounds.height));
                    let mut area = RichMenuArea::new();
                    area.bounds = Some(b);
                    area.action = Some(a.action.clone());
                    area
                })
                .collect(),
        );
        req
    }

    /// The content hash: SHA-256 over the key, the rich menu object (canonical JSON) and the
    /// image bytes, as lowercase hex. Any change to any of them gives a new hash, and so a new
    /// menu on LINE (LINE cannot replace a menu's image).
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        let mut canon = String::new();
        let value = serde_json::to_value(self.base_request()).unwrap_or(serde_json::Value::Null);
        write_canonical(&value, &mut canon);
        for part in [self.def.key.as_bytes(), canon.as_bytes(), self.image.bytes.as_ref()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The rich menu object sent to LINE. Its name ends in ` #` and the first 16 hex digits of
    /// the content hash, so that a menu created just before a crash can be recognised and adopted.
    pub fn to_request(&self) -> RichMenuRequest {
        let hash = self.content_hash();
        let mut req = self.base_request();
        req.name = Some(format!("{} #{}", req.name.unwrap_or_default(), name_tag(&hash)));
        req
    }
}

/// The tag put at the end of a deployed menu's name.
pub(crate) fn name_tag(hash: &str) -> &str {
    &hash[..hash.len().min(16)]
}

/// Length of the ` #…` suffix added to names.
pub(crate) const NAME_TAG_LEN: usize = 18;

fn write_canonical(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// A set of menus, deployed together.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MenuSet {
    menus: Vec<Menu>,
}

impl MenuSet {
    /// A set from menus declared in code; their places become `/menus/0`, `/menus/1`…
    pub fn new(menus: impl IntoIterator<Item = Menu>) -> Self {
        let menus = menus
            .into_iter()
            .enumerate()
            .map(|(i, mut m)| {
                m.place = format!("/menus/{i}");
                m
            })
            .collect();
        Self { menus }
    }

    /// The menus.
    pub fn menus(&self) -> &[Menu] {
        &self.menus
    }

    /// The menu with this key.
    pub fn get(&self, key: &str) -> Option<&Menu> {
        self.menus.iter().find(|m| m.def.key == key)
    }

    /// Reads a definition file: `.toml` as TOML, anything else as JSON. The file holds one
    /// menu, or `{"menus": [...]}`. Image paths are relative to the file's folder.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::with_source(
                ErrorKind::Read {
                    path: path.display().to_string(),
                },
                e,
            )
        })?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        if is_toml {
            Self::from_toml_str(&text, base)
        } else {
            Self::from_json_str(&text, base)
        }
    }

    /// Parses JSON; image paths are relative to `base`.
    pub fn from_json_str(text: &str, base: &Path) -> Result<Self, Error> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            Error::new(ErrorKind::Parse {
                pointer: String::new(),
                reason: e.to_string(),
            })
        })?;
        Self::from_value(&value, base)
    }

    /// Parses TOML; image paths are relative to `base`.
    pub fn from_toml_str(text: &str, base: &Path) -> Result<Self, Error> {
        let value: serde_json::Value = toml::from_str(text).map_err(|e| {
            Error::new(ErrorKind::Parse {
                pointer: String::new(),
                reason: e.message().to_owned(),
            })
        })?;
        Self::from_value(&value, base)
    }

    /// Reads definitions from a JSON value (one menu, or `{"menus": [...]}`) and loads their
    /// images relative to `base`.
    pub fn from_value(value: &serde_json::Value, base: &Path) -> Result<Self, Error> {
        let obj = value.as_object().ok_or_else(|| {
            Error::new(ErrorKind::Parse {
                pointer: String::new(),
                reason: "expected an object".into(),
            })
        })?;
        let defs: Vec<(String, &serde_json::Value)> = match obj.get("menus") {
            Some(serde_json::Value::Array(items)) => {
                if let Some(k) = obj.keys().find(|k| *k != "menus") {
                    return Err(Error::new(ErrorKind::Parse {
                        pointer: format!("/{}", escape_pointer(k)),
                        reason: "unknown field beside \"menus\"".into(),
                    }));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("/menus/{i}"), v))
                    .collect()
            }
            Some(_) => {
                return Err(Error::new(ErrorKind::Parse {
                    pointer: "/menus".into(),
                    reason: "expected an array of menus".into(),
                }))
            }
            None => vec![(String::new(), value)],
        };
        let mut menus = Vec::with_capacity(defs.len());
        for (place, v) in defs {
            let def: MenuDef = line_core::error::deserialize_at(v).map_err(|(pointer, e)| {
                Error::new(ErrorKind::Parse {
                    pointer: format!("{place}{pointer}"),
                    reason: e.to_string(),
                })
            })?;
            let image = Image::from_file(&base.join(&def.image));
            menus.push(Menu { def, image, place });
        }
        Ok(Self { menus })
    }
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
