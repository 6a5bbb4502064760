//! N16: the products a CSAF document names, as vendors write them — branch leaves, full product names, and
//! relationships (a package that is a component of a platform), identified by name, CPE 2.2 or 2.3, or package
//! URL — mapped to the suite's products; and the product identification helpers exports carry (N12).

use percent_encoding::{percent_decode_str, utf8_percent_encode};
use portal_policy::Product;
use serde_json::{Map, Value, json};

use super::{
    CsafConfig,
    identifiers::{
        UNRESERVED, complete_cpe, cpe_parts, n16_cpe_matches, n16_purl_matches, purl_base,
        purl_version, slug,
    },
    starts_with_word,
};

pub(super) fn text<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

pub(super) fn list<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A product of the product tree with what its branches and helper say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Leaf {
    id: String,
    name: String,
    product_name: Option<String>,
    version: Option<String>,
    cpe: Option<String>,
    purl: Option<String>,
    /// A relationship's product: the component (`product_reference`) and what it is part of
    /// (`relates_to_product_reference`).
    joins: Option<(String, String)>,
}

impl Leaf {
    fn new(product: &Value, product_name: Option<&str>, version: Option<&str>) -> Option<Self> {
        Some(Leaf {
            id: text(product, "/product_id")?.to_string(),
            name: text(product, "/name").unwrap_or_default().to_string(),
            product_name: product_name.map(str::to_string),
            version: version.map(str::to_string),
            cpe: text(product, "/product_identification_helper/cpe").map(str::to_string),
            purl: text(product, "/product_identification_helper/purl").map(str::to_string),
            joins: None,
        })
    }

    /// The version: the package URL's, else the `product_version` branch, else the CPE's version part.
    fn version(&self) -> Option<String> {
        let from_cpe = || {
            let parts = cpe_parts(self.cpe.as_deref()?)?;
            let version = parts.get(3)?;
            (!matches!(version.as_str(), "" | "*" | "-")).then(|| version.clone())
        };
        purl_version(self.purl.as_deref())
            .or_else(|| self.version.clone())
            .or_else(from_cpe)
    }

    /// What a component is called in a platform's fixed versions: its package's name and version
    /// (`example-server-2025.1.2-1.el9`, one entry for every architecture), else its version, else its name.
    fn component_label(&self) -> Option<String> {
        let package = self.purl.as_deref().and_then(|purl| {
            let name = purl_base(purl).rsplit('/').next()?;
            let name = percent_decode_str(name).decode_utf8().ok()?;
            Some(format!("{name}-{}", purl_version(Some(purl))?))
        });
        package
            .or_else(|| self.version())
            .or_else(|| (!self.name.is_empty()).then(|| self.name.clone()))
    }
}

/// The products of a document's `product_tree`.
#[derive(Debug, Clone, Default)]
pub(super) struct Tree(Vec<Leaf>);

impl Tree {
    /// Every product of the tree: branch leaves (with their product name and version), full product names, and
    /// relationships' products (with the products they join).
    pub(super) fn read(tree: &Value) -> Self {
        fn walk<'a>(
            branches: &'a [Value],
            name: Option<&'a str>,
            version: Option<&'a str>,
            out: &mut Vec<Leaf>,
        ) {
            for branch in branches {
                let (mut name, mut version) = (name, version);
                match text(branch, "/category") {
                    Some("product_name" | "product_family") if name.is_none() => {
                        name = text(branch, "/name")
                    }
                    Some("product_name") => name = text(branch, "/name"),
                    Some("product_version" | "product_version_range") => {
                        version = text(branch, "/name")
                    }
                    _ => {}
                }
                if let Some(product) = branch.get("product") {
                    out.extend(Leaf::new(product, name, version));
                }
                walk(list(branch, "/branches"), name, version, out);
            }
        }
        let mut out = Vec::new();
        walk(list(tree, "/branches"), None, None, &mut out);
        for product in list(tree, "/full_product_names") {
            out.extend(Leaf::new(product, None, None));
        }
        for relationship in list(tree, "/relationships") {
            let Some(mut leaf) = relationship
                .get("full_product_name")
                .and_then(|p| Leaf::new(p, None, None))
            else {
                continue;
            };
            if let (Some(component), Some(platform)) = (
                text(relationship, "/product_reference"),
                text(relationship, "/relates_to_product_reference"),
            ) {
                leaf.joins = Some((component.to_string(), platform.to_string()));
            }
            out.push(leaf);
        }
        Tree(out)
    }

    fn leaf(&self, id: &str) -> Option<&Leaf> {
        self.0.iter().find(|leaf| leaf.id == id)
    }

    /// Every product id the tree defines, in order.
    pub(super) fn ids(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|leaf| leaf.id.as_str())
    }

    /// N16: the suite product and version product `id` means. A relationship's product maps by its own helper,
    /// else as the product its platform (`relates_to_product_reference`) maps to, else as its component
    /// (`product_reference`) does; its version is the component's package and version. Any other product maps by
    /// its own names and helpers, at its own version.
    pub(super) fn resolve(
        &self,
        id: &str,
        config: &CsafConfig,
    ) -> Option<(Product, Option<String>)> {
        let leaf = self.leaf(id)?;
        let Some((component, platform)) = &leaf.joins else {
            return config
                .product_of(leaf)
                .map(|product| (product, leaf.version()));
        };
        let component = self.leaf(component);
        let product = config
            .product_of(leaf)
            .or_else(|| self.leaf(platform).and_then(|p| config.product_of(p)))
            .or_else(|| component.and_then(|c| config.product_of(c)))?;
        let version = component
            .and_then(Leaf::component_label)
            .or_else(|| leaf.version());
        Some((product, version))
    }
}

impl CsafConfig {
    /// The suite product a CSAF product means: a configured CPE, purl or name first, else the suite's own product
    /// name (what documents this suite exported without a mapping say).
    fn product_of(&self, leaf: &Leaf) -> Option<Product> {
        let names = [leaf.product_name.as_deref(), Some(leaf.name.as_str())];
        let configured = self.products.iter().find(|rule| {
            let by_cpe = leaf
                .cpe
                .as_deref()
                .is_some_and(|cpe| rule.cpes.iter().any(|prefix| n16_cpe_matches(cpe, prefix)));
            let by_purl = leaf.purl.as_deref().is_some_and(|purl| {
                rule.purls
                    .iter()
                    .any(|prefix| n16_purl_matches(purl, prefix))
            });
            let by_name = rule.names.iter().any(|wanted| {
                names
                    .iter()
                    .flatten()
                    .any(|name| starts_with_word(name, wanted))
            });
            by_cpe || by_purl || by_name
        });
        configured.map(|rule| rule.product).or_else(|| {
            let own = leaf.product_name.as_deref()?;
            Product::parse(&own.trim().to_ascii_uppercase())
        })
    }

    /// N12: the product identification helper of `product` (at `version`, or every version) in exported
    /// documents: its first configured CPE and purl prefixes completed with the version; with neither configured,
    /// a generic package URL named after the publisher and the product.
    pub(super) fn helper(&self, product: Product, version: Option<&str>) -> Value {
        let rule = self.products.iter().find(|rule| rule.product == product);
        let mut helper = Map::new();
        if let Some(cpe) = rule
            .and_then(|r| r.cpes.first())
            .and_then(|prefix| complete_cpe(prefix, version))
        {
            helper.insert("cpe".into(), json!(cpe));
        }
        let purl = match rule.and_then(|r| r.purls.first()) {
            Some(prefix) => purl_base(prefix.trim()).to_string(),
            None if helper.is_empty() => format!(
                "pkg:generic/{}/{}",
                slug(&self.publisher.name),
                slug(&self.display_name(product))
            ),
            None => String::new(),
        };
        if !purl.is_empty() {
            let version = version.map(|v| format!("@{}", utf8_percent_encode(v, UNRESERVED)));
            helper.insert(
                "purl".into(),
                json!(format!("{purl}{}", version.unwrap_or_default())),
            );
        }
        Value::Object(helper)
    }
}
