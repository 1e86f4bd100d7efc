"""QBO's fault envelopes and the exact codes/messages clients key their handling on.

All texts live here so the sandbox says each thing one way, the way Intuit says it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.responses import JSONResponse, Response

from sandbox.quickbooks.clock import CompanyClock

BUSINESS_MESSAGE = "A business validation error has occurred while processing your request"
ONE_NAME_DETAIL = "Business Validation Error: You can only add or edit one name at a time. Please try again."
ONE_ITEM_DETAIL = (
    "Business Validation Error: You can only add or edit one product or service at a time. Please try again."
)
INACTIVE_DETAIL = (
    "Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)
DUPLICATE_NAME_DETAIL = (
    "The name supplied already exists. : Another customer, vendor or employee is already using this \n"
    "name. Please use a different name."
)
PERIOD_CLOSED_DETAIL = (
    "The account period has closed and the account books cannot be updated through through the QBO "
    "Services API. Please use the QBO website to make these changes."
)
THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
THROTTLE_DETAIL = "The request limit was reached.  Try again later"


def api_headers() -> dict[str, str]:
    """Every API answer carries an `intuit_tid`, the id Intuit support asks for."""
    return {"intuit_tid": str(uuid.uuid4())}


def qbo_json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**api_headers(), **(headers or {})})


class QboError(Exception):
    """Any answer that is not a success; handlers raise it, the app renders it."""

    status: int = 400

    def response(self, clock: CompanyClock) -> Response:
        raise NotImplementedError


class Fault(QboError):
    """The normal `Fault` envelope (validation, system and service faults)."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        *,
        element: str = "",
        status: int = 400,
        fault_type: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def fault(self) -> dict[str, Any]:
        """The `Fault` object alone, as embedded in batch item responses."""
        error = {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}
        return {"Error": [error], "type": self.fault_type}

    def response(self, clock: CompanyClock) -> Response:
        return qbo_json({"Fault": self.fault(), "time": clock.response_time()}, self.status)


class GatewayFault(QboError):
    """401/403 from Intuit's gateway: a different, lowercase envelope with epoch `time`."""

    def __init__(self, status: int, code: str, message: str, detail: str, fault_type: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.fault_type = fault_type

    def response(self, clock: CompanyClock) -> Response:
        error = {"message": self.message, "detail": self.detail, "code": self.code, "element": None}
        body: dict[str, Any] = {
            "warnings": None,
            "intuitObject": None,
            "fault": {"error": [error], "type": self.fault_type},
            "report": None,
            "queryResponse": None,
            "batchItemResponse": [],
            "attachableResponse": [],
            "syncErrorResponse": None,
            "requestId": None,
            "time": clock.epoch_millis(),
            "status": None,
            "cdcresponse": [],
        }
        return qbo_json(body, self.status)


class Throttled(QboError):
    """429 ThrottleExceeded; `Retry-After` tells the client when the window frees."""

    status = 429

    def __init__(self, retry_after: int, body_format: str) -> None:
        super().__init__(THROTTLE_DETAIL)
        self.retry_after = max(1, retry_after)
        self.body_format = body_format

    def response(self, clock: CompanyClock) -> Response:
        headers = {**api_headers(), "Retry-After": str(self.retry_after)}
        if self.body_format == "xml":
            xml = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{clock.response_time()}">'
                f'<Fault type="SERVICE"><Error code="3001"><Message>{THROTTLE_MESSAGE}</Message>'
                f"<Detail>{THROTTLE_DETAIL}</Detail></Error></Fault></IntuitResponse>"
            )
            return Response(xml, status_code=429, media_type="application/xml", headers=headers)
        fault = Fault("3001", THROTTLE_MESSAGE, THROTTLE_DETAIL, status=429, fault_type="SERVICE")
        body = {"Fault": fault.fault(), "time": clock.response_time()}
        return Response(json.dumps(body), status_code=429, media_type="application/json", headers=headers)


class OAuthError(Exception):
    """Token-endpoint errors use the plain OAuth shape `{"error": ..., "error_description": ...}`."""

    def __init__(self, status: int, error: str, description: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> JSONResponse:
        body: dict[str, str] = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return JSONResponse(body, status_code=self.status)


def authentication_failed(detail: str) -> GatewayFault:
    message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    return GatewayFault(401, "3200", message, detail, "AUTHENTICATION")


def authorization_failed(realm_id: str) -> GatewayFault:
    message = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"
    detail = f"The access token is not authorized for company (realmId) {realm_id}"
    return GatewayFault(403, "3100", message, detail, "SERVICE")


def system_failure() -> Fault:
    detail = (
        "System Failure Error: An unexpected error occurred while accessing or saving your data. "
        "Please wait a few minutes and try again. If the problem persists, contact customer support."
    )
    message = "An application error has occurred while processing your request"
    return Fault("10000", message, detail, status=500, fault_type="SystemFault")


def service_unavailable() -> Response:
    """The gateway's 503 is an HTML page, not JSON; clients must not assume a body shape."""
    html = "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>"
    return Response(html, status_code=503, media_type="text/html", headers=api_headers())


def unsupported_operation(detail: str) -> Fault:
    return Fault("500", "Unsupported Operation", f"Operation {detail} is not supported.")


def object_not_found(deleted: bool = False) -> Fault:
    reason = "Another user has deleted this transaction." if deleted else INACTIVE_DETAIL
    return Fault("610", "Object Not Found", f"Object Not Found : {reason}")


def invalid_reference(entity: str, ref_id: str, inactive: bool = False) -> Fault:
    reason = INACTIVE_DETAIL if inactive else f"{entity}s element id {ref_id} not found"
    return Fault("2500", "Invalid Reference Id", f"Invalid Reference Id : {reason}")


def unrecognized_field(field: str, schema_class: str) -> Fault:
    detail = (
        f'Property Name:Unrecognized field "{field}" (class com.intuit.schema.finance.v3.{schema_class}), '
        "not marked as ignorable"
    )
    return Fault("2010", "Request has invalid or unsupported property", detail, element=field)


def invalid_value(field: str, value: object) -> Fault:
    detail = f"Property Name:Can not construct instance of {field} from value '{value}'"
    return Fault("2010", "Request has invalid or unsupported property", detail, element=field)


def required_missing(field: str) -> Fault:
    message = "Required param missing, need to supply the required value for the API"
    return Fault("2020", message, f"Required parameter {field} is missing in the request", element=field)


def invalid_characters(field: str, value: str) -> Fault:
    message = "Invalid String. The String may contain unsupported or illegal chars"
    return Fault("2040", message, f"Element contains invalid characters. {value}", element=field)


def string_too_long(field: str, limit: int, supplied: int) -> Fault:
    detail = (
        "String length specified does not match the supported length. "
        f"Min:0 Max:{limit} supported. Supplied length:{supplied}"
    )
    return Fault("2050", "Invalid String Length", detail, element=field)


def invalid_enumeration(field: str, value: object) -> Fault:
    return Fault("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element=field)


def invalid_email(value: str) -> Fault:
    message = "Email Address does not conform to the syntax rules of RFC 822"
    return Fault("2210", message, f"Email Address does not conform to the syntax rules of RFC 822: {value}")


def query_parse_error(detail: str) -> Fault:
    return Fault("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_invalid(detail: str) -> Fault:
    return Fault("4001", "Invalid query", f"QueryValidationError: {detail}")


def stale_object() -> Fault:
    detail = (
        "Stale Object Error : You and root were working on this at the same time. "
        "root finished before you did, so your work was not saved."
    )
    return Fault("5010", "Stale Object Error", detail)


def business_validation(reason: str) -> Fault:
    return Fault("6000", BUSINESS_MESSAGE, f"Business Validation Error: {reason}")


def one_name_at_a_time(entity: str) -> Fault:
    return Fault("6000", BUSINESS_MESSAGE, ONE_ITEM_DETAIL if entity == "Item" else ONE_NAME_DETAIL)


def amount_calculation(supplied: object) -> Fault:
    detail = f"Amount is not equal to UnitPrice * Qty. Supplied value:{supplied}"
    return Fault("6070", "Amount calculation incorrect", detail, element="Line.Amount")


def no_name_provided() -> Fault:
    detail = "No Name Provided : Please supply a DisplayName or one of Title, GivenName, MiddleName, FamilyName, Suffix."
    return Fault("6080", "No Name Provided", detail)


def discount_line_incomplete() -> Fault:
    detail = "Discount Line missing required info : supply Amount, or PercentBased with DiscountPercent."
    return Fault("6090", "Discount Line missing required info", detail)


def discounts_off() -> Fault:
    """Our wording: no source records QBO's answer to a discount line with discounts off."""
    return business_validation("Discounts are turned off for this company. Turn on discounts in Account and Settings.")


def tax_codes_automated() -> Fault:
    """Our wording: with automated sales tax the engine owns the tax codes (unconfirmed)."""
    return business_validation("This company uses automated sales tax; tax codes cannot be created.")


def invalid_line_taxcode(value: str) -> Fault:
    detail = f"Invalid Line TaxCode : Valid Line TaxCodes for US should be TAX or NON. Supplied value:{value}"
    return Fault("6100", "Invalid Line TaxCode", detail)


def duplicate_doc_number(doc_number: str, entity: str, txn_id: str) -> Fault:
    detail = (
        "Duplicate Document Number Error : You must specify a different number. "
        f"This number has already been used. DocNumber={doc_number} is assigned to TxnType={entity} "
        f"with TxnId={txn_id}"
    )
    return Fault("6140", "Duplicate Document Number Error", detail)


def period_closed() -> Fault:
    return Fault("6210", "Account Period Closed", PERIOD_CLOSED_DETAIL)


def list_has_balance(entity: str) -> Fault:
    detail = (
        f"Delete List Has Balance Error : This {entity.lower()} cannot be deleted because it has a "
        "non-zero balance"
    )
    return Fault("6220", "Delete List Has Balance Error", detail)


def duplicate_name(entity: str) -> Fault:
    detail = DUPLICATE_NAME_DETAIL
    if entity in ("Item", "Account", "TaxCode", "TaxRate"):
        detail = f"The name supplied already exists. : Another {entity.lower()} is already using this name."
    return Fault("6240", "Duplicate Name Exists Error", detail)


def batch_too_large(limit: int, supplied: int) -> Fault:
    detail = f"Batch size exceeds allowed limit. Maximum allowed:{limit}, Supplied:{supplied}"
    return Fault("1040", "Batch size exceeds allowed limit", detail)


def batch_empty() -> Fault:
    return Fault("400", "MalformedRequest", "Batch Request is Empty")


def requestid_too_long(value: str, limit: int) -> Fault:
    reason = (
        f"You cannot enter more than {limit} characters in the request_id field. "
        f"You tried entering {value[:10]}..., which is {len(value)} characters."
    )
    return business_validation(reason)


def malformed_body(reason: str) -> Fault:
    return Fault("2010", "Request has invalid or unsupported property", f"Property Name:{reason}")
