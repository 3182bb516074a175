"""English (US) prompts."""

MESSAGES = {
    "welcome": "Thank you for calling {company} bill payments.",
    "language_offer": "Para español, oprima nueve.",
    "confirm_caller_account": (
        "Are you calling about the account ending in {last4}? Press 1 for yes, 2 for no."
    ),
    "enter_account": "Please enter your account number, followed by the pound key.",
    "enter_account_again": "Please enter your account number again, followed by the pound key.",
    "enter_pin": "Please enter your PIN, followed by the pound key.",
    "enter_zip": "Now enter the 5 digit ZIP code of your service address.",
    "enter_ssn4": "Now enter the last 4 digits of the Social Security number on the account.",
    "invalid_account_format": "Account numbers are {min} to {max} digits.",
    "invalid_pin_format": "Your PIN is 4 to 8 digits.",
    "invalid_zip_format": "A ZIP code is 5 digits.",
    "invalid_ssn4_format": "Please enter exactly 4 digits.",
    "verify_failed": "Sorry, we could not verify those details.",
    "verified": "Thank you, you are verified.",
    "locked": (
        "For your security, phone access to this account is locked for the next {minutes} "
        "minutes. You can call back after that. To speak with a representative now, press 0."
    ),
    "main_menu": (
        "For your balance and due date, press 1. To make a payment, press 2. "
        "For more time to pay, press 3. To hear your last payment, press 4. "
        "To speak with a representative, press 0. To hear these options again, press star."
    ),
    "balance": "Your balance is {amount}, due on {date}.",
    "balance_no_date": "Your balance is {amount}.",
    "minimum_due": "The minimum payment due is {amount}.",
    "no_balance": "Your account has no balance due.",
    "option_unavailable": "Sorry, that option is not available by phone yet.",
    "last_payment": "Your last payment was {amount} on {date}. Its confirmation number is {number}.",
    "no_payments": "We have no payments on record for this account.",
    "transferring": "Please hold while I connect you with a representative.",
    "agent_whisper_verified": "Verified caller. Account ending in {last4}.",
    "agent_whisper_unverified": "Caller not verified.",
    "no_input": "Sorry, I did not hear anything.",
    "invalid_choice": "Sorry, that is not one of the choices.",
    "goodbye": "Thank you for calling. Goodbye.",
    "goodbye_no_input": "We did not receive your answer. Please call again when you are ready. Goodbye.",
    "goodbye_too_many_attempts": (
        "Sorry, we are having trouble with your entries. Please call again, or ask a representative "
        "for help. Goodbye."
    ),
    "session_expired": "Sorry, this call has timed out. Please call again. Goodbye.",
    "system_error": (
        "Sorry, something went wrong on our side and nothing was charged. Please call again in a "
        "few minutes. Goodbye."
    ),
}
