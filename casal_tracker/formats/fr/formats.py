# Quebec French conventions over Django's French ones: "5 avril 2018, 14 h 05", "2018-04-05".
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = r"j F Y, G \h i"
TIME_FORMAT = r"G \h i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = r"Y-m-d G \h i"
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y"]
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "\xa0"
NUMBER_GROUPING = 3
