//! eLearning access codes (L11).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, sea_query::Expr,
};

use super::elearning_code;
use crate::{
    domain::{ElearningCode, Email, NewElearningCodes, elearning},
    error::{Error, Result},
};

fn code_from_row(row: elearning_code::Model) -> ElearningCode {
    ElearningCode {
        code: row.code,
        account_id: row.account_id,
        purchase_id: row.purchase_id,
        redeemed_by_email: row.redeemed_by_email,
        redeem_time: row.redeem_time,
        create_time: row.create_time,
    }
}

/// L11: writes `new.count` fresh codes of one issue; a code already taken is drawn again.
pub async fn insert_codes<C: ConnectionTrait>(
    db: &C,
    new: &NewElearningCodes,
    batch_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<ElearningCode>> {
    let mut codes = Vec::new();
    for _ in 0..new.count {
        let mut code = elearning::generate_code();
        while elearning_code::Entity::find_by_id(code.clone())
            .one(db)
            .await?
            .is_some()
        {
            code = elearning::generate_code();
        }
        let row = elearning_code::ActiveModel {
            code: Set(code),
            account_id: Set(new.account_id.clone()),
            purchase_id: Set(new.purchase_id.clone()),
            batch_id: Set(batch_id.into()),
            redeemed_by_email: Set(None),
            redeem_time: Set(None),
            create_time: Set(now),
        }
        .insert(db)
        .await?;
        codes.push(code_from_row(row));
    }
    Ok(codes)
}

/// The codes of an issue, for a replayed request.
pub async fn codes_of_batch<C: ConnectionTrait>(
    db: &C,
    batch_id: &str,
) -> Result<Vec<ElearningCode>> {
    Ok(elearning_code::Entity::find()
        .filter(elearning_code::Column::BatchId.eq(batch_id))
        .all(db)
        .await?
        .into_iter()
        .map(code_from_row)
        .collect())
}

/// A page of the account's codes, by code after `after`.
pub async fn list_codes<C: ConnectionTrait>(
    db: &C,
    account_id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<ElearningCode>> {
    let mut query =
        elearning_code::Entity::find().filter(elearning_code::Column::AccountId.eq(account_id));
    if let Some(after) = after {
        query = query.filter(elearning_code::Column::Code.gt(after));
    }
    Ok(query
        .order_by_asc(elearning_code::Column::Code)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(code_from_row)
        .collect())
}

/// L11: redeems the code for `email` if nobody has (a conditional update, so two redemptions cannot both
/// win); the code as it now is, and whether this call redeemed it.
pub async fn redeem_code<C: ConnectionTrait>(
    db: &C,
    code: &str,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<(ElearningCode, bool)> {
    let redeemed = elearning_code::Entity::update_many()
        .col_expr(
            elearning_code::Column::RedeemedByEmail,
            Expr::value(Some(email.as_str().to_string())),
        )
        .col_expr(elearning_code::Column::RedeemTime, Expr::value(Some(now)))
        .filter(elearning_code::Column::Code.eq(code))
        .filter(elearning_code::Column::RedeemedByEmail.is_null())
        .exec(db)
        .await?
        .rows_affected;
    let row = elearning_code::Entity::find_by_id(code.to_string())
        .one(db)
        .await?
        .ok_or(Error::CodeNotFound)?;
    Ok((code_from_row(row), redeemed > 0))
}
