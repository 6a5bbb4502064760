//! N12: an advisory as the CSAF 2.0 document GetAdvisoryCsaf returns and the provider distributes (N15).

use serde_json::Value;

use crate::{
    domain::{
        Advisory,
        csaf::{self, CsafConfig},
    },
    error::{Error, Result},
    store,
};

/// N12: an imported advisory's own document (with the suite's alias, label and canonical URL), else one generated
/// as of the advisory's publishing, so an advisory always gives the same bytes; checked against the schema
/// imports are held to.
pub async fn document<C: sea_orm::ConnectionTrait>(
    db: &C,
    config: &CsafConfig,
    advisory: &Advisory,
) -> Result<Value> {
    let document = match advisory.content.csaf {
        Some(_) => {
            let text = store::csaf::document(db, &advisory.advisory_id)
                .await?
                .ok_or_else(|| Error::internal("an imported advisory lost its CSAF document"))?;
            let original: Value = serde_json::from_str(&text)
                .map_err(|e| Error::internal(format!("stored CSAF document: {e}")))?;
            csaf::n12_imported(original, advisory, config)
        }
        None => csaf::n12_generate(advisory, config, advisory.create_time),
    };
    if let Err(violations) = csaf::n11_check_schema(&document) {
        let first = violations
            .first()
            .map(|v| format!("{}: {}", v.field, v.description))
            .unwrap_or_default();
        return Err(Error::internal(format!(
            "CSAF export of {} fails the schema: {first}",
            advisory.advisory_id
        )));
    }
    Ok(document)
}
