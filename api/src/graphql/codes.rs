//! `extensions.code` on every GraphQL error (ERR-1), not only on resolvers' refusals: a query
//! that does not parse, fails validation, is nested too deep or too complex, or carries an
//! argument the schema cannot read gets a code from the one catalogue. Works for HTTP and
//! WebSocket alike (it is a schema extension, not an HTTP wrapper).

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Response, ServerError, ServerResult, ValidationResult, Value, Variables};
use kaden_domain::error::ErrorCode;

/// Installs [`ErrorCodes`] on the schema.
pub struct GraphqlErrorCodes;

impl ExtensionFactory for GraphqlErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes)
    }
}

struct ErrorCodes;

/// Sets `code` unless the error has one already.
fn with_code(mut error: ServerError, code: ErrorCode) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", Value::from(code.as_str()));
    }
    error
}

/// The code of a validation error: the depth and complexity limits have their own.
fn validation_code(error: &ServerError) -> ErrorCode {
    if error.message.contains("nested too deep") {
        ErrorCode::QueryTooDeep
    } else if error.message.contains("too complex") {
        ErrorCode::QueryTooComplex
    } else {
        ErrorCode::GraphqlValidationFailed
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodes {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, ErrorCode::GraphqlParseFailed))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    let code = validation_code(&e);
                    with_code(e, code)
                })
                .collect()
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        // Resolvers' refusals carry their code; what is left is an argument the schema could
        // not read (e.g. a string where an Int belongs).
        response.errors = std::mem::take(&mut response.errors)
            .into_iter()
            .map(|e| with_code(e, ErrorCode::BadArgument))
            .collect();
        response
    }
}
